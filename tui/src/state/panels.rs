//! Which panel the bottom area shows (`tab` cycles), and the detail pane's state.

/// The panels of the bottom area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Panel {
    /// Top dropped pairs.
    #[default]
    TopDrops,
    /// Drops by reason.
    ByReason,
    /// Drops by policy.
    ByPolicy,
    /// Endpoints with identity and enforcement.
    Endpoints,
}

impl Panel {
    /// Every panel, in tab order.
    pub const ALL: [Panel; 4] = [
        Self::TopDrops,
        Self::ByReason,
        Self::ByPolicy,
        Self::Endpoints,
    ];

    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            Self::TopDrops => "Top drops",
            Self::ByReason => "By reason",
            Self::ByPolicy => "By policy",
            Self::Endpoints => "Endpoints",
        }
    }

    /// The next panel (`tab`).
    pub fn next(self) -> Self {
        Self::ALL[(self as usize + 1) % Self::ALL.len()]
    }

    /// The previous panel (`shift-tab`).
    pub fn prev(self) -> Self {
        Self::ALL[(self as usize + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// The detail pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetailView {
    /// Whether it is shown.
    pub open: bool,
    /// Lines scrolled off the top.
    pub scroll: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_through_every_panel_and_back() {
        let mut p = Panel::default();
        for _ in 0..Panel::ALL.len() {
            p = p.next();
        }
        assert_eq!(p, Panel::TopDrops);
        assert_eq!(Panel::TopDrops.prev(), Panel::Endpoints);
    }
}
