//! Attaching the programs to an endpoint's host-side veth, and keeping them attached
//! across agent restarts.
//!
//! tcx (Linux ≥ 6.6) is the default: `from_endpoint` on the veth's ingress hook,
//! `to_endpoint` on its egress hook, each as the **first** program of the hook (a program
//! before ours could end the chain with `TCX_PASS` and bypass policy). Each link is pinned
//! at `<pin_root>/<node>/links/<ifindex>-{from,to}`, which keeps it attached after the agent
//! exits. A new agent opens the pinned links and atomically swaps its freshly loaded
//! programs in (`BPF_LINK_UPDATE`): there is no instant without enforcement.
//!
//! Without tcx, the programs go on the clsact qdisc through netlink, at a fixed priority
//! and handle: such filters cannot be pinned, but they outlive the agent anyway, and a new
//! agent replaces them in place (`NLM_F_REPLACE` on the same priority/handle) when it
//! attaches the interface again.

use std::ffi::CString;
use std::io;
use std::path::PathBuf;

use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::tc::{NlOptions, SchedClassifierLink, TcAttachOptions, TcHandle};
use aya::programs::{Link, LinkOrder, ProgramError, TcAttachType};

use super::error::DatapathError;
use super::loader::{Datapath, PinPaths, Program};

/// Priority of our netlink filters (before the default 49152 of ad-hoc `tc` filters).
const NETLINK_PRIORITY: u16 = 1;
/// Handle of our netlink filters ("obs" in a 16-bit minor number).
const NETLINK_HANDLE: TcHandle = TcHandle::new(0, 0x0b5e);

/// An interface, by name or index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interface {
    /// By name (e.g. `lxc1234`).
    Name(String),
    /// By index.
    Index(u32),
}

/// How a program ended up attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// A new tcx link, pinned.
    TcxCreated,
    /// An existing pinned tcx link whose program was replaced.
    TcxUpdated,
    /// A netlink (clsact) filter.
    Netlink,
}

/// One hook of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Ingress of the host veth: packets from the endpoint (`from_endpoint`).
    From,
    /// Egress of the host veth: packets to the endpoint (`to_endpoint`).
    To,
    /// Ingress of a node device: packets from the network (`from_network`).
    FromNetwork,
    /// Egress of a node device: packets to the network (`to_network`).
    ToNetwork,
}

impl Hook {
    /// Both hooks of an endpoint's veth.
    pub const BOTH: [Self; 2] = [Self::From, Self::To];
    /// Both hooks of a node device (host firewall).
    pub const DEVICE: [Self; 2] = [Self::FromNetwork, Self::ToNetwork];
    /// Every hook.
    pub const ALL: [Self; 4] = [Self::From, Self::To, Self::FromNetwork, Self::ToNetwork];

    /// The program for this hook.
    pub const fn program(self) -> Program {
        match self {
            Self::From => Program::FromEndpoint,
            Self::To => Program::ToEndpoint,
            Self::FromNetwork => Program::FromNetwork,
            Self::ToNetwork => Program::ToNetwork,
        }
    }

    const fn attach_type(self) -> TcAttachType {
        match self {
            Self::From | Self::FromNetwork => TcAttachType::Ingress,
            Self::To | Self::ToNetwork => TcAttachType::Egress,
        }
    }

    const fn hook_name(self) -> &'static str {
        match self {
            Self::From | Self::FromNetwork => "ingress",
            Self::To | Self::ToNetwork => "egress",
        }
    }

    const fn suffix(self) -> &'static str {
        match self {
            Self::From => "from",
            Self::To => "to",
            Self::FromNetwork => "from-network",
            Self::ToNetwork => "to-network",
        }
    }
}

/// The result of attaching one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// How `from_endpoint` was attached.
    pub from: AttachMode,
    /// How `to_endpoint` was attached.
    pub to: AttachMode,
}

/// A pinned link found when loading, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkAdoption {
    /// The pin.
    pub path: PathBuf,
    /// Whether it now runs the new program (`false`: the link was defunct, e.g. its
    /// interface is gone, and its pin was removed).
    pub updated: bool,
}

impl PinPaths {
    /// The pin of `hook`'s link on interface `ifindex`.
    pub fn link(&self, ifindex: u32, hook: Hook) -> PathBuf {
        self.links.join(format!("{ifindex}-{}", hook.suffix()))
    }

    /// The pins of node-device links (host firewall) under these paths.
    fn device_link_pins(&self) -> Vec<(u32, PathBuf)> {
        let Ok(dir) = std::fs::read_dir(&self.links) else {
            return Vec::new();
        };
        dir.filter_map(|e| {
            let path = e.ok()?.path();
            let (ifindex, hook) = link_of_pin(&path)?;
            Hook::DEVICE.contains(&hook).then_some((ifindex, path))
        })
        .collect()
    }

    /// Removes every node-device link pin (host firewall), which detaches those links,
    /// without loading the datapath: for an agent started without the host firewall,
    /// before it needs the network (a host policy of before could otherwise keep it from
    /// its kvstore). Returns how many were removed.
    ///
    /// # Errors
    ///
    /// A pin that cannot be removed.
    pub fn release_device_links(&self) -> Result<usize, DatapathError> {
        let pins = self.device_link_pins();
        for (_, pin) in &pins {
            remove_link_pin(pin)?;
        }
        Ok(pins.len())
    }
}

impl Datapath {
    /// The interfaces (by index) that have a pinned node-device link (host firewall),
    /// this agent's or a previous one's.
    pub fn device_links(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .paths
            .device_link_pins()
            .into_iter()
            .map(|(ifindex, _)| ifindex)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Attaches both programs to `interface` (idempotent: an interface already attached,
    /// by this agent or a previous one, gets its programs replaced in place).
    pub fn attach(&mut self, interface: &Interface) -> Result<Attached, DatapathError> {
        self.attach_pair(interface, Hook::BOTH)
    }

    /// Attaches the host firewall's programs to a node device (idempotent, like
    /// [`Datapath::attach`]): `from_network` on its ingress hook, `to_network` on its
    /// egress hook.
    pub fn attach_device(&mut self, interface: &Interface) -> Result<Attached, DatapathError> {
        self.attach_pair(interface, Hook::DEVICE)
    }

    /// Attaches the programs of `[ingress, egress]` hooks to `interface`.
    fn attach_pair(
        &mut self,
        interface: &Interface,
        [ingress, egress]: [Hook; 2],
    ) -> Result<Attached, DatapathError> {
        let (ifindex, name) = resolve(interface)?;
        let from = self.attach_hook(ifindex, &name, ingress)?;
        let to = self.attach_hook(ifindex, &name, egress)?;
        Ok(Attached {
            ifindex,
            name,
            from,
            to,
        })
    }

    /// Detaches our programs from `interface`, an endpoint's veth or a node device:
    /// removes the pinned links (and our netlink filters, if any). Detaching what is not
    /// attached is not an error.
    pub fn detach(&mut self, interface: &Interface) -> Result<(), DatapathError> {
        let (ifindex, name) = resolve(interface)?;
        for hook in Hook::ALL {
            remove_link_pin(&self.paths.link(ifindex, hook))?;
            // Netlink filters exist only where tcx was unavailable; absent ones are fine.
            if let Ok(link) = SchedClassifierLink::attached(
                &name,
                hook.attach_type(),
                NETLINK_PRIORITY,
                NETLINK_HANDLE,
                None,
            ) {
                let _ = link.detach();
            }
        }
        Ok(())
    }

    fn attach_hook(
        &mut self,
        ifindex: u32,
        name: &str,
        hook: Hook,
    ) -> Result<AttachMode, DatapathError> {
        let pin = self.paths.link(ifindex, hook);
        if pin.exists() {
            if self.update_pinned_link(&pin, hook)? {
                return Ok(AttachMode::TcxUpdated);
            }
            remove_link_pin(&pin)?;
        }
        let program = hook.program();
        let prog = self.program_mut(program)?;
        let attach_error = |source: ProgramError| DatapathError::Attach {
            program: program.name(),
            hook: hook.hook_name(),
            interface: name.to_owned(),
            source: Box::new(source),
        };
        match prog.attach_with_options(
            name,
            hook.attach_type(),
            TcAttachOptions::TcxOrder(LinkOrder::first()),
        ) {
            Ok(id) => {
                let link = prog.take_link(id).map_err(attach_error)?;
                pin_link(link, &pin)?;
                Ok(AttachMode::TcxCreated)
            }
            Err(e) if tcx_unsupported(&e) => {
                self.attach_netlink(name, hook).map_err(attach_error)?;
                Ok(AttachMode::Netlink)
            }
            Err(e) => Err(attach_error(e)),
        }
    }

    /// Replaces the program on the pinned tcx link at `pin`; `false` if the link is
    /// defunct (its interface went away) or not a tcx link.
    fn update_pinned_link(
        &mut self,
        pin: &std::path::Path,
        hook: Hook,
    ) -> Result<bool, DatapathError> {
        let link_error = |detail: String| DatapathError::Link {
            path: pin.to_path_buf(),
            detail,
        };
        let pinned =
            PinnedLink::from_pin(pin).map_err(|e| link_error(format!("cannot open: {e}")))?;
        let Ok(link) = SchedClassifierLink::try_from(FdLink::from(pinned)) else {
            return Ok(false);
        };
        let prog = self.program_mut(hook.program())?;
        match prog.attach_to_link(link) {
            Ok(id) => {
                // The pin keeps the link; our handle on it can go.
                drop(prog.take_link(id));
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Attaches through netlink at our fixed priority and handle: replaces our filter if it
    /// is there (a restarted agent), creates it otherwise.
    fn attach_netlink(&mut self, name: &str, hook: Hook) -> Result<(), ProgramError> {
        // "Already exists" is the normal case after the first attach.
        let _ = aya::programs::tc::qdisc_add_clsact(name);
        let prog = self
            .program_mut(hook.program())
            .map_err(|_| ProgramError::NotLoaded)?;
        let existing = SchedClassifierLink::attached(
            name,
            hook.attach_type(),
            NETLINK_PRIORITY,
            NETLINK_HANDLE,
            None,
        )
        .map_err(ProgramError::IOError)?;
        let id = match prog.attach_to_link(existing) {
            Ok(id) => id,
            Err(_) => {
                let options = NlOptions {
                    priority: NETLINK_PRIORITY,
                    handle: NETLINK_HANDLE,
                    classid: None,
                };
                prog.attach_with_options(
                    name,
                    hook.attach_type(),
                    TcAttachOptions::Netlink(options),
                )?
            }
        };
        // Dropping the link would remove the filter; the filter must outlive the agent like
        // a pinned tcx link does, so the handle is deliberately leaked (a few bytes).
        std::mem::forget(prog.take_link(id)?);
        Ok(())
    }

    /// Makes every pinned tcx link of this node run the programs just loaded; removes the
    /// pins of defunct links. Called by [`Datapath::load_or_adopt`].
    pub(crate) fn adopt_links(&mut self) -> Result<Vec<LinkAdoption>, DatapathError> {
        let links = self.paths.links.clone();
        let dir = std::fs::read_dir(&links).map_err(|source| DatapathError::PinDir {
            path: links.clone(),
            source,
        })?;
        let mut adopted = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|source| DatapathError::PinDir {
                path: links.clone(),
                source,
            })?;
            let path = entry.path();
            let Some((_, hook)) = link_of_pin(&path) else {
                continue;
            };
            let updated = self.update_pinned_link(&path, hook)?;
            if !updated {
                remove_link_pin(&path)?;
            }
            adopted.push(LinkAdoption { path, updated });
        }
        adopted.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(adopted)
    }
}

/// The interface and hook a link pin is for, from its name (`<ifindex>-from`,
/// `<ifindex>-to`, `<ifindex>-from-network`, `<ifindex>-to-network`).
fn link_of_pin(path: &std::path::Path) -> Option<(u32, Hook)> {
    let name = path.file_name()?.to_str()?;
    let (ifindex, suffix) = name.split_once('-')?;
    let hook = Hook::ALL.into_iter().find(|h| h.suffix() == suffix)?;
    Some((ifindex.parse().ok()?, hook))
}

fn pin_link(link: SchedClassifierLink, pin: &std::path::Path) -> Result<(), DatapathError> {
    let link_error = |detail: String| DatapathError::Link {
        path: pin.to_path_buf(),
        detail,
    };
    let fd_link = FdLink::try_from(link).map_err(|e| link_error(format!("not an fd link: {e}")))?;
    fd_link
        .pin(pin)
        .map_err(|e| link_error(format!("cannot pin: {e}")))?;
    Ok(())
}

/// Removes a link pin; the link detaches once no one else holds it. Absent is fine.
fn remove_link_pin(pin: &std::path::Path) -> Result<(), DatapathError> {
    match std::fs::remove_file(pin) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(DatapathError::Link {
            path: pin.to_path_buf(),
            detail: format!("cannot remove: {e}"),
        }),
        _ => Ok(()),
    }
}

/// Whether a tcx attach failed because the kernel has no tcx (rather than for a reason
/// netlink would hit too).
fn tcx_unsupported(e: &ProgramError) -> bool {
    let ProgramError::SyscallError(s) = e else {
        return false;
    };
    matches!(
        s.io_error.raw_os_error(),
        Some(libc::EINVAL | libc::EOPNOTSUPP)
    )
}

/// The index and name of `interface` in the calling thread's network namespace.
pub fn resolve(interface: &Interface) -> Result<(u32, String), DatapathError> {
    let describe = |i: &Interface| match i {
        Interface::Name(n) => n.clone(),
        Interface::Index(i) => i.to_string(),
    };
    let error = |source| DatapathError::Interface {
        interface: describe(interface),
        source,
    };
    match interface {
        Interface::Name(name) => {
            let c_name = CString::new(name.as_bytes())
                .map_err(|_| error(io::Error::from(io::ErrorKind::InvalidInput)))?;
            // SAFETY: a NUL-terminated string.
            let ifindex = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
            if ifindex == 0 {
                return Err(error(io::Error::last_os_error()));
            }
            Ok((ifindex, name.clone()))
        }
        Interface::Index(ifindex) => {
            let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
            // SAFETY: the buffer has IF_NAMESIZE bytes, as if_indextoname requires.
            let name = unsafe { libc::if_indextoname(*ifindex, buf.as_mut_ptr()) };
            if name.is_null() {
                return Err(error(io::Error::last_os_error()));
            }
            // SAFETY: if_indextoname wrote a NUL-terminated name into `buf`.
            let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            Ok((*ifindex, name))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn link_pins_name_the_interface_and_hook() {
        let paths = PinPaths::new(Path::new("/sys/fs/bpf/obs"), "node1").expect("plain name");
        assert_eq!(
            paths.link(7, Hook::From),
            Path::new("/sys/fs/bpf/obs/node1/links/7-from")
        );
        assert_eq!(link_of_pin(&paths.link(7, Hook::To)), Some((7, Hook::To)));
        assert_eq!(
            link_of_pin(&paths.link(7, Hook::ToNetwork)),
            Some((7, Hook::ToNetwork))
        );
        assert_eq!(link_of_pin(Path::new("x-from")), None);
        assert_eq!(link_of_pin(Path::new("7-sideways")), None);
        assert!(PinPaths::new(Path::new("/sys/fs/bpf/obs"), "../etc").is_err());
    }
}
