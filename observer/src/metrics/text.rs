//! The Prometheus text exposition format (version 0.0.4), written by hand: `# HELP` and
//! `# TYPE` lines per family, then one line per sample with escaped label values.
//!
//! ```text
//! # HELP hubble_drop_total Number of drops
//! # TYPE hubble_drop_total counter
//! hubble_drop_total{reason="POLICY_DENIED",protocol="TCP",policy="e2e/server"} 3
//! ```

use std::fmt::{Display, Write};

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Metric family types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A value that only grows.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets, a sum and a count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// Accumulates a scrape's text.
#[derive(Debug, Default)]
pub struct Encoder {
    out: String,
}

impl Encoder {
    /// An empty page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family: its help and type lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        self.labels(labels, None);
        let _ = writeln!(self.out, " {value}");
    }

    /// A histogram's samples: `(upper bound, cumulative count)` per bucket (the `+Inf`
    /// bucket is added from `count`), then `_sum` and `_count`.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        buckets: &[(f64, u64)],
        sum: f64,
        count: u64,
    ) {
        for (le, cumulative) in buckets {
            self.out.push_str(name);
            self.out.push_str("_bucket");
            self.labels(labels, Some(&le.to_string()));
            let _ = writeln!(self.out, " {cumulative}");
        }
        self.out.push_str(name);
        self.out.push_str("_bucket");
        self.labels(labels, Some("+Inf"));
        let _ = writeln!(self.out, " {count}");
        let _ = writeln!(self.out, "{name}_sum{} {sum}", self.label_text(labels));
        let _ = writeln!(self.out, "{name}_count{} {count}", self.label_text(labels));
    }

    /// The page.
    pub fn finish(self) -> String {
        self.out
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        if labels.is_empty() && le.is_none() {
            return;
        }
        self.out.push('{');
        let mut first = true;
        let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
        for (key, value) in all {
            if !first {
                self.out.push(',');
            }
            first = false;
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('}');
    }

    fn label_text(&self, labels: &[(&str, &str)]) -> String {
        let mut e = Encoder::new();
        e.labels(labels, None);
        e.out
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escapes() {
        let mut e = Encoder::new();
        e.family("x_total", Kind::Counter, "Things\nseen");
        e.sample("x_total", &[("a", "q\"\\\n")], 3);
        e.sample("x_total", &[], 1.5);
        assert_eq!(
            e.finish(),
            "# HELP x_total Things\\nseen\n# TYPE x_total counter\n\
             x_total{a=\"q\\\"\\\\\\n\"} 3\nx_total 1.5\n"
        );
    }

    #[test]
    fn histograms_end_with_inf_sum_and_count() {
        let mut e = Encoder::new();
        e.histogram("h", &[("k", "v")], &[(0.001, 2), (0.01, 5)], 0.02, 6);
        assert_eq!(
            e.finish(),
            "h_bucket{k=\"v\",le=\"0.001\"} 2\nh_bucket{k=\"v\",le=\"0.01\"} 5\n\
             h_bucket{k=\"v\",le=\"+Inf\"} 6\nh_sum{k=\"v\"} 0.02\nh_count{k=\"v\"} 6\n"
        );
    }
}
