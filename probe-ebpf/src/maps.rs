//! Every map of the datapath. Names are those of [`probe_common::maps`] (the static's name is
//! the ELF symbol and so the map name the loader looks up), and every map is declared
//! `pinned` so the loader pins it by name under `<bpffs>/<node>/maps/` and a restarted agent
//! reuses the same maps (and so the same policy, conntrack and counters) instead of new ones.

use aya_ebpf::bindings::BPF_F_NO_PREALLOC;
use aya_ebpf::macros::map;
use aya_ebpf::maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, ProgramArray, RingBuf};
use probe_common::config::ProbeConfig;
use probe_common::conntrack::{CtEntry, CtKey, FragEntry, FragKey};
use probe_common::endpoint::EndpointInfo;
use probe_common::ipcache::{IpCacheEntry, IpCacheKey};
use probe_common::maps as names;
use probe_common::policy::{PolicyEntry, PolicyKey};

use crate::parse::Flow;

/// [`names::POLICY`]: every endpoint's resolved policy, both directions.
#[map]
pub static OBS_POLICY: LpmTrie<PolicyKey, PolicyEntry> =
    LpmTrie::pinned(names::POLICY_MAX_ENTRIES, 0);

/// [`names::ENDPOINTS`]: host-side veth ifindex → endpoint. Not preallocated: then an
/// update frees the old value only after an RCU grace period, so the datapath can read an
/// endpoint in place while userspace replaces it (a preallocated hash recycles the old
/// element at once).
#[map]
pub static OBS_ENDPOINTS: HashMap<u32, EndpointInfo> =
    HashMap::pinned(names::ENDPOINTS_MAX_ENTRIES, BPF_F_NO_PREALLOC);

/// [`names::IPCACHE`]: address prefix → security identity.
#[map]
pub static OBS_IPCACHE: LpmTrie<IpCacheKey, IpCacheEntry> =
    LpmTrie::pinned(names::IPCACHE_MAX_ENTRIES, 0);

/// [`names::CONNTRACK`]: LRU so that a full table evicts the least recently used flow rather
/// than refusing new ones (expired entries are never deleted by the datapath; the LRU and
/// userspace GC reclaim them).
#[map]
pub static OBS_CT: LruHashMap<CtKey, CtEntry> = LruHashMap::pinned(names::CONNTRACK_MAX_ENTRIES, 0);

/// [`names::FRAGMENTS`]: ports of first fragments, for the later fragments of a datagram.
#[map]
pub static OBS_FRAGS: LruHashMap<FragKey, FragEntry> =
    LruHashMap::pinned(names::FRAGMENTS_MAX_ENTRIES, 0);

/// [`names::COUNTERS`]: per-CPU, so the datapath increments without atomics.
#[map]
pub static OBS_COUNTERS: PerCpuArray<u64> =
    PerCpuArray::pinned(probe_common::counters::COUNTERS_LEN, 0);

/// [`names::NODE_SIDE`]: the node-side programs the pods' programs tail-call.
#[map]
pub static OBS_NODE_SIDE: ProgramArray = ProgramArray::pinned(names::node_side::LEN, 0);

/// [`names::CONFIG`]: one [`ProbeConfig`] at index 0.
#[map]
pub static OBS_CONFIG: Array<ProbeConfig> = Array::pinned(1, 0);

/// [`names::EVENTS`]: [`probe_common::event::FlowEvent`]s for the observer.
#[map]
pub static OBS_EVENTS: RingBuf = RingBuf::pinned(names::EVENTS_BYTES, 0);

/// [`names::SCRATCH`]: the parsed [`Flow`] of the packet being classified.
///
/// Why not the stack: the verifier tracks stack contents per path, so a `Flow` on the stack
/// leaves the parser carrying what each path learnt (family 4 or 6, protocol 6 or 17, ...),
/// and everything after the parser is verified once per distinct parser outcome (559k
/// verified instructions, 1.3 s to load). Map memory is not tracked by value: read back from
/// here, the fields are plain unknown scalars and the paths merge (with the config and endpoint likewise used in place: 27k instructions, 0.05 s).
/// It also keeps 64 bytes off the 512-byte stack. Per-CPU and rewritten at the start of
/// every packet, so concurrent CPUs never share it; not pinned, as it holds no state.
#[map]
pub static OBS_SCRATCH: PerCpuArray<Flow> = PerCpuArray::with_max_entries(1, 0);

/// A map key or value on the stack, 8-byte aligned. The key types of `probe_common` have
/// byte-array fields and alignment 1 or 2; the BPF ISA has no unaligned loads, so LLVM
/// would build and copy them byte by byte. Over-aligning the stack slot lets it use word
/// stores, which saves instructions, registers and stack.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Aligned<T>(pub T);

impl<T> AsRef<T> for Aligned<T> {
    /// The value, in place: map helpers take it by reference, so it stays aligned (passing
    /// `self.0` by value would copy it to a slot of its natural alignment).
    fn as_ref(&self) -> &T {
        &self.0
    }
}

/// An all-zero `T`, written with volatile 32-bit stores into an aligned slot.
///
/// Why not `T::default()` or a `[0; N]` field in a struct literal: on BPF those compile to
/// calls to compiler-builtins' `memset`, a byte-at-a-time loop (a 3-byte padding field
/// costs ~20 instructions per key). Volatile stores cannot be merged back into a `memset`.
/// Fields set afterwards with struct-update syntax (`..zeroed()`) keep the rest zero.
#[inline(always)]
pub fn zeroed<T: Copy>() -> T {
    const { assert!(core::mem::size_of::<T>().is_multiple_of(4) && core::mem::align_of::<T>() <= 8) };
    let mut slot = core::mem::MaybeUninit::<Aligned<T>>::uninit();
    let words = slot.as_mut_ptr().cast::<u32>();
    for i in 0..core::mem::size_of::<T>() / 4 {
        // SAFETY: within the slot, which is 8-aligned.
        unsafe { core::ptr::write_volatile(words.add(i), 0) };
    }
    // SAFETY: every byte was written, and the key and value types used with this are plain
    // data for which all-zero is valid.
    unsafe { slot.assume_init().0 }
}

/// [`names::WAKEUP`]: when this CPU last woke the reader ([`probe_common::wakeup`]).
/// Per-CPU, so no atomics; not pinned, as losing it on a restart costs one early wake-up.
#[map]
pub static OBS_WAKEUP: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
