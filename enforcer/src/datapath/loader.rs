//! Loading the datapath, or adopting the one a previous agent left pinned.
//!
//! Layout under the pin root (a bpffs directory, mounted here if needed):
//!
//! ```text
//! <pin_root>/<node>/maps/OBS_*            every map, pinned by name
//! <pin_root>/<node>/links/<ifindex>-from  tcx link of from_endpoint (host veth ingress)
//! <pin_root>/<node>/links/<ifindex>-to    tcx link of to_endpoint (host veth egress)
//! ```
//!
//! Maps are declared `pinned` in `probe-ebpf`, so aya reuses a pin that exists and creates
//! and pins one that does not: a restarted agent gets the same policy, endpoints, ipcache,
//! conntrack, counters, config and ring buffer. Before that, each existing pin is checked
//! against this build's definition (type, key and value size, capacity), so a layout change
//! is an error naming the pin rather than a datapath reading garbage. The freshly loaded
//! programs then replace the programs on the pinned tcx links atomically ([`attach`]), so
//! enforcement never stops across a restart or upgrade.
//!
//! [`attach`]: super::attach

use std::collections::BTreeSet;
use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use aya::maps::{Map, MapData, MapInfo, MapType, RingBuf};
use aya::programs::SchedClassifier;
use aya::{Ebpf, EbpfLoader};
use probe_common::config::ProbeConfig;
use probe_common::conntrack::{CtEntry, CtKey, FragEntry, FragKey};
use probe_common::counters::COUNTERS_LEN;
use probe_common::endpoint::EndpointInfo;
use probe_common::ipcache::{IpCacheEntry, IpCacheKey};
use probe_common::maps::{self as names, programs};
use probe_common::policy::{PolicyEntry, PolicyKey};

use super::apply::{ApplyReport, apply};
use super::attach::LinkAdoption;
use super::config::ConfigMap;
use super::counters::CounterMap;
use super::desired::DesiredState;
use super::error::DatapathError;
use super::events::EventReader;
use super::kernel_maps::{ConntrackMap, EndpointMap, IpCacheMap, PolicyMap};
use super::maps::MapOps;

/// The eBPF object built from `probe-ebpf` by `build.rs`.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/probe-ebpf"));

/// `statfs.f_type` of bpffs.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The datapath's programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Program {
    /// Host veth ingress hook: the endpoint's egress policy.
    FromEndpoint,
    /// Host veth egress hook: the endpoint's ingress policy.
    ToEndpoint,
    /// A node device's ingress hook: the host endpoint's ingress policy (host firewall).
    FromNetwork,
    /// A node device's egress hook: the host endpoint's egress policy (host firewall).
    ToNetwork,
    /// Tail-called by `FromEndpoint` for a new connection from a pod to its node.
    FromEndpointNode,
    /// Tail-called by `ToEndpoint` for a new connection from a node to its pod.
    ToEndpointNode,
    /// Does nothing (benchmark baseline).
    Noop,
    /// The map operations of an established packet of `FromEndpoint` and nothing else
    /// (benchmark floor; not loaded by [`Datapath::load_or_adopt`]).
    EstablishedFloor,
    /// The map operations of a new allowed connection of `FromEndpoint` and nothing else
    /// (benchmark floor; not loaded by [`Datapath::load_or_adopt`]).
    NewConnectionFloor,
}

impl Program {
    /// The programs [`Datapath::load_or_adopt`] loads and verifies.
    pub const ALL: [Self; 7] = [
        Self::FromEndpoint,
        Self::ToEndpoint,
        Self::FromEndpointNode,
        Self::ToEndpointNode,
        Self::FromNetwork,
        Self::ToNetwork,
        Self::Noop,
    ];

    /// The benchmark's floors: in the object, loaded only on request
    /// ([`Datapath::load_program`]).
    pub const FLOORS: [Self; 2] = [Self::EstablishedFloor, Self::NewConnectionFloor];

    /// The program's name in the object.
    pub const fn name(self) -> &'static str {
        match self {
            Self::FromEndpoint => programs::FROM_ENDPOINT,
            Self::ToEndpoint => programs::TO_ENDPOINT,
            Self::FromNetwork => programs::FROM_NETWORK,
            Self::ToNetwork => programs::TO_NETWORK,
            Self::FromEndpointNode => programs::FROM_ENDPOINT_NODE,
            Self::ToEndpointNode => programs::TO_ENDPOINT_NODE,
            Self::Noop => "noop",
            Self::EstablishedFloor => "established_floor",
            Self::NewConnectionFloor => "new_connection_floor",
        }
    }
}

/// What the kernel reports about a loaded program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStats {
    /// The program.
    pub program: Program,
    /// Instructions after verification and rewriting (xlated).
    pub instructions: u32,
    /// Instructions the verifier processed (all paths and states; the limit is 1M).
    pub verified_instructions: u32,
    /// Bytes of JIT-compiled code.
    pub jited_bytes: u32,
}

/// Where one node's datapath objects are pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinPaths {
    /// `<pin_root>/<node>`.
    pub node: PathBuf,
    /// `<pin_root>/<node>/maps`.
    pub maps: PathBuf,
    /// `<pin_root>/<node>/links`.
    pub links: PathBuf,
}

impl PinPaths {
    /// The paths for `node` under `pin_root`; `node` must be one plain path component.
    pub fn new(pin_root: &Path, node: &str) -> Result<Self, DatapathError> {
        let plain = !node.is_empty() && node != "." && node != ".." && !node.contains('/');
        if !plain {
            let source = io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("node name {node:?} is not a plain directory name"),
            );
            return Err(DatapathError::PinDir {
                path: pin_root.join(node),
                source,
            });
        }
        let node = pin_root.join(node);
        Ok(Self {
            maps: node.join("maps"),
            links: node.join("links"),
            node,
        })
    }

    /// The pin of map `name`.
    pub fn map(&self, name: &str) -> PathBuf {
        self.maps.join(name)
    }
}

/// A loaded (or adopted) datapath: its programs, loaded and verified, and its maps.
pub struct Datapath {
    pub(crate) ebpf: Ebpf,
    pub(crate) paths: PinPaths,
    adopted: bool,
    pub(crate) adopted_links: Vec<LinkAdoption>,
    replaced: Vec<ReplacedPin>,
    policy: PolicyMap,
    endpoints: EndpointMap,
    ipcache: IpCacheMap,
    conntrack: ConntrackMap,
    counters: CounterMap,
    config: ConfigMap,
    events: Option<RingBuf<MapData>>,
}

impl std::fmt::Debug for Datapath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datapath")
            .field("paths", &self.paths)
            .field("adopted", &self.adopted)
            .finish_non_exhaustive()
    }
}

impl Datapath {
    /// Loads the datapath for `node` with its maps pinned under `<pin_root>/<node>/maps`,
    /// reusing the maps (and updating the links) an earlier agent pinned there.
    ///
    /// Mounts bpffs if `pin_root` is not on one, raises `RLIMIT_MEMLOCK` (older kernels
    /// charge BPF memory to it), loads and verifies every program, and writes the default
    /// [`ProbeConfig`] when the maps are new (an adopted datapath keeps its config). A
    /// pin of a rebuilt map (conntrack, fragments, config) with an older layout is
    /// replaced ([`Datapath::replaced_pins`]); any other incompatible pin is an error.
    pub fn load_or_adopt(pin_root: &Path, node: &str) -> Result<Self, DatapathError> {
        let paths = PinPaths::new(pin_root, node)?;
        ensure_bpffs(pin_root)?;
        for dir in [&paths.maps, &paths.links] {
            std::fs::create_dir_all(dir).map_err(|source| DatapathError::PinDir {
                path: dir.clone(),
                source,
            })?;
        }
        let (pinned, replaced) = check_pinned_maps(&paths)?;
        raise_memlock();
        let mut ebpf = EbpfLoader::new()
            .default_map_pin_directory(&paths.maps)
            .load(OBJECT)
            .map_err(|source| DatapathError::Load {
                source: Box::new(source),
            })?;
        for program in Program::ALL {
            program_mut(&mut ebpf, program)?
                .load()
                .map_err(|source| DatapathError::Program {
                    name: program.name(),
                    source: Box::new(source),
                })?;
        }
        fill_node_side(&mut ebpf)?;
        let mut datapath = Self {
            policy: PolicyMap(typed_map(&mut ebpf, names::POLICY)?),
            endpoints: EndpointMap(typed_map(&mut ebpf, names::ENDPOINTS)?),
            ipcache: IpCacheMap(typed_map(&mut ebpf, names::IPCACHE)?),
            conntrack: ConntrackMap(typed_map(&mut ebpf, names::CONNTRACK)?),
            counters: CounterMap(typed_map(&mut ebpf, names::COUNTERS)?),
            config: ConfigMap(typed_map(&mut ebpf, names::CONFIG)?),
            events: Some(typed_map(&mut ebpf, names::EVENTS)?),
            ebpf,
            paths,
            adopted: pinned.contains(names::POLICY),
            adopted_links: Vec::new(),
            replaced,
        };
        if !pinned.contains(names::CONFIG) {
            datapath.config.set(&ProbeConfig::DEFAULT)?;
        }
        datapath.adopted_links = datapath.adopt_links()?;
        Ok(datapath)
    }

    /// Whether the maps were adopted from an earlier agent rather than created.
    pub fn is_adopted(&self) -> bool {
        self.adopted
    }

    /// The pins of another layout (an older build's) that were replaced at load.
    pub fn replaced_pins(&self) -> &[ReplacedPin] {
        &self.replaced
    }

    /// The pinned tcx links found at load and what became of them.
    pub fn adopted_links(&self) -> &[LinkAdoption] {
        &self.adopted_links
    }

    /// Where this datapath is pinned.
    pub fn paths(&self) -> &PinPaths {
        &self.paths
    }

    /// A loaded program, e.g. for `BPF_PROG_TEST_RUN`.
    pub fn program_mut(&mut self, program: Program) -> Result<&mut SchedClassifier, DatapathError> {
        program_mut(&mut self.ebpf, program)
    }

    /// Loads and verifies `program` unless it is loaded: for the programs
    /// [`Datapath::load_or_adopt`] leaves in the object ([`Program::FLOORS`]). They use the
    /// maps of this datapath.
    pub fn load_program(&mut self, program: Program) -> Result<(), DatapathError> {
        let prog = self.program_mut(program)?;
        if prog.fd().is_ok() {
            return Ok(());
        }
        prog.load().map_err(|source| DatapathError::Program {
            name: program.name(),
            source: Box::new(source),
        })
    }

    /// Sizes and verifier cost of `program`.
    pub fn program_stats(&mut self, program: Program) -> Result<ProgramStats, DatapathError> {
        let info = self
            .program_mut(program)?
            .info()
            .map_err(|source| DatapathError::Program {
                name: program.name(),
                source: Box::new(source),
            })?;
        Ok(ProgramStats {
            program,
            instructions: info.size_translated().unwrap_or(0) / 8,
            verified_instructions: info.verified_instruction_count().unwrap_or(0),
            jited_bytes: info.size_jitted(),
        })
    }

    /// `OBS_POLICY`.
    pub fn policy_map(&mut self) -> &mut PolicyMap {
        &mut self.policy
    }

    /// `OBS_ENDPOINTS`.
    pub fn endpoint_map(&mut self) -> &mut EndpointMap {
        &mut self.endpoints
    }

    /// `OBS_IPCACHE`.
    pub fn ipcache_map(&mut self) -> &mut IpCacheMap {
        &mut self.ipcache
    }

    /// `OBS_CT`.
    pub fn conntrack_map(&mut self) -> &mut ConntrackMap {
        &mut self.conntrack
    }

    /// `OBS_COUNTERS`.
    pub fn counter_map(&self) -> &CounterMap {
        &self.counters
    }

    /// A read-only view of this datapath's conntrack and endpoint maps through their pins,
    /// independent of this handle.
    ///
    /// # Errors
    ///
    /// As [`super::connections::Connections::open`].
    pub fn connections(&self) -> Result<super::connections::Connections, super::error::MapError> {
        super::connections::Connections::open(&self.paths)
    }

    /// `OBS_CONFIG`.
    pub fn config_map(&mut self) -> &mut ConfigMap {
        &mut self.config
    }

    /// The event ring buffer's reader; `None` once taken.
    pub fn take_events(&mut self) -> Option<EventReader> {
        self.events.take().map(EventReader::new)
    }

    /// Makes the maps hold `desired` ([`apply`]), then deletes the conntrack entries of
    /// endpoints that went away.
    pub fn apply(&mut self, desired: &DesiredState) -> Result<ApplyReport, DatapathError> {
        let report = apply(
            desired,
            &mut self.policy,
            &mut self.endpoints,
            &mut self.ipcache,
        )?;
        let removed: BTreeSet<u16> = report.removed_endpoints.iter().copied().collect();
        self.conntrack.flush_endpoints(&removed)?;
        Ok(report)
    }

    /// The largest cookie in the policy map: a restarted agent's cookie table starts above
    /// it (`CookieTable::starting_after`), so adopted conntrack entries keep meaning what
    /// they meant.
    pub fn max_pinned_cookie(&self) -> Result<u32, DatapathError> {
        Ok(self
            .policy
            .entries()?
            .values()
            .map(|e| e.cookie)
            .max()
            .unwrap_or(0))
    }

    /// Removes every pin of this node, maps and tcx links: the links detach at once (this
    /// object holds no link), the maps go with this object. Netlink filters (kernels without
    /// tcx) are not pinned: [`Datapath::detach`] them first.
    pub fn remove_pins(self) -> Result<(), DatapathError> {
        let node = self.paths.node.clone();
        std::fs::remove_dir_all(&node)
            .map_err(|source| DatapathError::PinDir { path: node, source })
    }
}

/// Puts the node-side programs in their slots of the (pinned) program array the pods'
/// programs tail-call: replaces a previous agent's.
fn fill_node_side(ebpf: &mut Ebpf) -> Result<(), DatapathError> {
    use aya::maps::ProgramArray;
    use probe_common::maps::node_side;
    let slots = [
        (node_side::FROM_ENDPOINT, Program::FromEndpointNode),
        (node_side::TO_ENDPOINT, Program::ToEndpointNode),
    ];
    let mut fds = Vec::new();
    for (slot, program) in slots {
        let fd = program_mut(ebpf, program)?
            .fd()
            .and_then(|fd| fd.try_clone().map_err(aya::programs::ProgramError::from))
            .map_err(|source| DatapathError::Program {
                name: program.name(),
                source: Box::new(source),
            })?;
        fds.push((slot, fd));
    }
    // The pin keeps the array (and its slots) once this handle is dropped.
    let mut array: ProgramArray<aya::maps::MapData> = typed_map(ebpf, names::NODE_SIDE)?;
    for (slot, fd) in &fds {
        array
            .set(*slot, fd, 0)
            .map_err(|source| DatapathError::MapType {
                name: names::NODE_SIDE,
                source: Box::new(source),
            })?;
    }
    Ok(())
}

fn program_mut(ebpf: &mut Ebpf, program: Program) -> Result<&mut SchedClassifier, DatapathError> {
    let name = program.name();
    let prog = ebpf
        .program_mut(name)
        .ok_or(DatapathError::MissingProgram { name })?;
    prog.try_into().map_err(|source| DatapathError::Program {
        name,
        source: Box::new(source),
    })
}

/// Takes map `name` out of the object as the typed map `M`.
fn typed_map<M>(ebpf: &mut Ebpf, name: &'static str) -> Result<M, DatapathError>
where
    M: TryFrom<Map, Error = aya::maps::MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or(DatapathError::MissingMap { name })?;
    M::try_from(map).map_err(|source| DatapathError::MapType {
        name,
        source: Box::new(source),
    })
}

/// What a map must look like; a pin that differs cannot be reused.
struct MapSpec {
    name: &'static str,
    map_type: MapType,
    key_size: usize,
    value_size: usize,
    max_entries: u32,
    /// What the map holds is rebuilt without it: a pin of another layout (an agent of an
    /// older build) is replaced rather than refused. Conntrack (its connections are decided
    /// again at their next packet), fragments, and the config (written at every start).
    rebuilt: bool,
}

/// A pinned map of another layout that was replaced by a new, empty one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacedPin {
    /// Map name.
    pub map: &'static str,
    /// What differed.
    pub detail: String,
}

/// The LPM trie key size: the prefix length (u32) and the data.
const fn lpm_key<K>() -> usize {
    4 + size_of::<K>()
}

const SPECS: [MapSpec; 8] = [
    MapSpec {
        name: names::POLICY,
        map_type: MapType::LpmTrie,
        key_size: lpm_key::<PolicyKey>(),
        value_size: size_of::<PolicyEntry>(),
        max_entries: names::POLICY_MAX_ENTRIES,
        rebuilt: false,
    },
    MapSpec {
        name: names::ENDPOINTS,
        map_type: MapType::Hash,
        key_size: 4,
        value_size: size_of::<EndpointInfo>(),
        max_entries: names::ENDPOINTS_MAX_ENTRIES,
        rebuilt: false,
    },
    MapSpec {
        name: names::IPCACHE,
        map_type: MapType::LpmTrie,
        key_size: lpm_key::<IpCacheKey>(),
        value_size: size_of::<IpCacheEntry>(),
        max_entries: names::IPCACHE_MAX_ENTRIES,
        rebuilt: false,
    },
    MapSpec {
        name: names::CONNTRACK,
        map_type: MapType::LruHash,
        key_size: size_of::<CtKey>(),
        value_size: size_of::<CtEntry>(),
        max_entries: names::CONNTRACK_MAX_ENTRIES,
        rebuilt: true,
    },
    MapSpec {
        name: names::FRAGMENTS,
        map_type: MapType::LruHash,
        key_size: size_of::<FragKey>(),
        value_size: size_of::<FragEntry>(),
        max_entries: names::FRAGMENTS_MAX_ENTRIES,
        rebuilt: true,
    },
    MapSpec {
        name: names::COUNTERS,
        map_type: MapType::PerCpuArray,
        key_size: 4,
        value_size: 8,
        max_entries: COUNTERS_LEN,
        rebuilt: false,
    },
    MapSpec {
        name: names::CONFIG,
        map_type: MapType::Array,
        key_size: 4,
        value_size: size_of::<ProbeConfig>(),
        max_entries: 1,
        rebuilt: true,
    },
    MapSpec {
        name: names::EVENTS,
        map_type: MapType::RingBuf,
        key_size: 0,
        value_size: 0,
        max_entries: names::EVENTS_BYTES,
        rebuilt: false,
    },
];

/// Checks every existing map pin against [`SPECS`]; returns the names that are pinned, and
/// the pins of rebuilt maps that had another layout, removed (the load creates them anew).
fn check_pinned_maps(
    paths: &PinPaths,
) -> Result<(BTreeSet<&'static str>, Vec<ReplacedPin>), DatapathError> {
    let mut pinned = BTreeSet::new();
    let mut replaced = Vec::new();
    for spec in &SPECS {
        let path = paths.map(spec.name);
        if !path.exists() {
            continue;
        }
        let incompatible = |detail: String| DatapathError::IncompatiblePin {
            map: spec.name,
            path: path.clone(),
            detail,
        };
        let info =
            MapInfo::from_pin(&path).map_err(|e| incompatible(format!("cannot read it: {e}")))?;
        let map_type = info
            .map_type()
            .map_err(|e| incompatible(format!("unknown map type: {e}")))?;
        let found = (
            map_type,
            info.key_size() as usize,
            info.value_size() as usize,
            info.max_entries(),
        );
        let want = (
            spec.map_type,
            spec.key_size,
            spec.value_size,
            spec.max_entries,
        );
        if found != want {
            let detail = format!(
                "pinned (type, key size, value size, max entries) = {found:?}, this build needs {want:?}"
            );
            if !spec.rebuilt {
                return Err(incompatible(detail));
            }
            std::fs::remove_file(&path)
                .map_err(|e| incompatible(format!("{detail}; cannot remove it: {e}")))?;
            replaced.push(ReplacedPin {
                map: spec.name,
                detail,
            });
            continue;
        }
        pinned.insert(spec.name);
    }
    Ok((pinned, replaced))
}

/// Mounts bpffs unless `pin_root` (or its nearest existing ancestor) is on one: at
/// `/sys/fs/bpf` when `pin_root` is below it (the conventional place, shared with other
/// tools), else at `pin_root` itself.
fn ensure_bpffs(pin_root: &Path) -> Result<(), DatapathError> {
    let existing = pin_root
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    if is_bpffs(existing) {
        return Ok(());
    }
    let standard = Path::new("/sys/fs/bpf");
    let mount_point = if pin_root.starts_with(standard) {
        standard
    } else {
        pin_root
    };
    let mount_error = |source| DatapathError::MountBpffs {
        path: mount_point.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(mount_point).map_err(mount_error)?;
    let target = CString::new(mount_point.as_os_str().as_bytes()).map_err(|_| {
        mount_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path contains a NUL byte",
        ))
    })?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            c"bpffs".as_ptr(),
            target.as_ptr(),
            c"bpf".as_ptr(),
            0,
            c"mode=0700".as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(mount_error(io::Error::last_os_error()));
    }
    Ok(())
}

fn is_bpffs(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct we pass; the path is NUL-terminated.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut stat) };
    rc == 0 && stat.f_type as i64 == BPF_FS_MAGIC
}

/// Kernels before 5.11 charge BPF memory to `RLIMIT_MEMLOCK`; newer ones use memcg and
/// ignore it. Failing to raise it is therefore not fatal: a load that needs it fails with
/// its own, clearer error.
fn raise_memlock() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct we pass.
    let _ = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}
