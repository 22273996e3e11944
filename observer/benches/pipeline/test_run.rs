//! A load generator that is not the bottleneck: the agent's own `from_endpoint` program,
//! as attached to the client pod's veth, run with `BPF_PROG_TEST_RUN` (`repeat`) on a real
//! frame of that pod, in the node's namespace. Each run is one packet of an established
//! UDP flow, so with `--trace all` one event into the agent's ring buffer: the kernel side
//! offers millions of events per second, and what the agent sees, loses and counts can be
//! compared with what was offered.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use aya::programs::tc::TcAttachType;
use aya::programs::{ProgramFd, SchedClassifier};

/// `BPF_PROG_TEST_RUN`.
const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// The `test` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
}

/// `struct __sk_buff` up to `ifindex` (the kernel takes a shorter context and zero-fills
/// the rest; only the fields test runs allow are set).
#[repr(C)]
#[derive(Default)]
struct SkBuffCtx {
    len: u32,
    pkt_type: u32,
    mark: u32,
    queue_mapping: u32,
    protocol: u32,
    vlan_present: u32,
    vlan_tci: u32,
    vlan_proto: u32,
    priority: u32,
    ingress_ifindex: u32,
    ifindex: u32,
}

/// The from-endpoint program attached to `ifname` (in the caller's namespace).
pub fn from_endpoint(ifname: &str) -> ProgramFd {
    let (_, programs) =
        SchedClassifier::query_tcx(ifname, TcAttachType::Ingress).expect("query tcx");
    let info = programs
        .into_iter()
        .find(|p| p.name_as_str() == Some("from_endpoint"))
        .expect("the agent's from_endpoint program on the client's veth");
    info.fd().expect("program fd")
}

/// An Ethernet + IPv4 + UDP frame from `src` to `dst`:`dport`.
pub fn udp_frame(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> Vec<u8> {
    let payload = b"bench";
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&u16::try_from(ip_len).expect("small").to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&u16::try_from(udp_len).expect("small").to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Runs `prog` on `frame` as a packet of interface `ifindex`, `repeat` times; returns how
/// many runs the kernel made.
fn run(prog: &ProgramFd, frame: &[u8], ifindex: u32, repeat: u32) -> u32 {
    let ctx = SkBuffCtx {
        ifindex,
        ..SkBuffCtx::default()
    };
    let attr = TestRunAttr {
        prog_fd: u32::try_from(prog.as_fd().as_raw_fd()).expect("fd"),
        data_size_in: u32::try_from(frame.len()).expect("small"),
        data_in: frame.as_ptr() as u64,
        repeat,
        ctx_size_in: u32::try_from(size_of::<SkBuffCtx>()).expect("small"),
        ctx_in: (&raw const ctx) as u64,
        ..TestRunAttr::default()
    };
    // The kernel rejects nonzero bytes past the last field it knows, and the struct's tail
    // padding is not initialised: pass only up to the end of `batch_size`.
    let size = std::mem::offset_of!(TestRunAttr, batch_size) + size_of::<u32>();
    // SAFETY: `attr` is the `test` member of `union bpf_attr` with valid pointers to
    // `frame` and `ctx`, which outlive the call; the kernel reads `size` bytes of it and at
    // most the sizes given of the others.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_TEST_RUN, &raw const attr, size) };
    if rc == 0 {
        repeat
    } else {
        eprintln!("BPF_PROG_TEST_RUN: {}", std::io::Error::last_os_error());
        0
    }
}

/// Offers `rate` runs per second for `secs` in batches of at least 1 ms of runs; returns
/// the runs made and the rate achieved.
///
/// A call costs the kernel far more than a run (it allocates and frees a socket buffer
/// and a socket), so the generator waits until a batch is due: running whatever was due
/// at once made it call back to back in batches of a few runs at 500k runs/s, and spend
/// a whole core of the two it shares with the agent.
pub fn offer(prog: &ProgramFd, frame: &[u8], ifindex: u32, rate: u64, secs: f64) -> (u64, f64) {
    let start = Instant::now();
    let total = (rate as f64 * secs) as u64;
    let least = (rate / 1_000).max(1);
    let mut done = 0u64;
    while done < total {
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        if due >= done + least || due == total {
            let batch = u32::try_from((due - done).min(1 << 20)).expect("bounded");
            let ran = run(prog, frame, ifindex, batch);
            if ran == 0 {
                break;
            }
            done += u64::from(ran);
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    (done, done as f64 / start.elapsed().as_secs_f64())
}
