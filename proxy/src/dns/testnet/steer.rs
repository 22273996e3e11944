//! Steering like the datapath's, for tests: a BPF `sk_lookup` program in the node's network
//! namespace hands every packet for the DNS server's address and port to the proxy's
//! listener of its protocol, as the datapath's `bpf_sk_assign` at tc ingress does. The
//! program is a few instructions assembled here (no BPF toolchain) and loaded with bpf(2);
//! the listeners go in a sockmap (UDP at key 0, TCP at key 1). Closing the returned
//! descriptors undoes it.

use std::io;
use std::mem::size_of;
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_MAP_TYPE_SOCKMAP: u32 = 15;
const BPF_PROG_TYPE_SK_LOOKUP: u32 = 30;
const BPF_SK_LOOKUP: u32 = 36;

/// Helper numbers (`enum bpf_func_id`).
const MAP_LOOKUP_ELEM: i32 = 1;
const SK_RELEASE: i32 = 86;
const SK_ASSIGN: i32 = 124;

/// `struct bpf_sk_lookup` offsets.
const CTX_PROTOCOL: i16 = 12;
const CTX_LOCAL_IP4: i16 = 40;
const CTX_LOCAL_PORT: i16 = 60;

/// The steering in place: the sockmap, the program, and its link to the namespace.
#[derive(Debug)]
pub(crate) struct Steering {
    _map: OwnedFd,
    _program: OwnedFd,
    _link: OwnedFd,
}

/// Steers the packets for `server` arriving in the namespace `netns` to `udp` and `tcp`.
pub(crate) fn steer(
    netns: BorrowedFd<'_>,
    server: SocketAddrV4,
    udp: BorrowedFd<'_>,
    tcp: BorrowedFd<'_>,
) -> io::Result<Steering> {
    let map = sockmap().map_err(|e| context("creating the sockmap", e))?;
    insert(&map, 0, udp).map_err(|e| context("adding the UDP listener", e))?;
    insert(&map, 1, tcp).map_err(|e| context("adding the TCP listener", e))?;
    let program = load(&program(server, &map)).map_err(|e| context("loading", e))?;
    let link = attach(&program, netns).map_err(|e| context("attaching", e))?;
    Ok(Steering {
        _map: map,
        _program: program,
        _link: link,
    })
}

fn context(step: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("steering: {step}: {e}"))
}

/// One instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

const MOV64_REG: u8 = 0xbf;
const MOV64_IMM: u8 = 0xb7;
const ADD64_IMM: u8 = 0x07;
const LDX_W: u8 = 0x61;
const STX_W: u8 = 0x63;
const LD_IMM64: u8 = 0x18;
const JNE32_IMM: u8 = 0x56;
const JEQ_IMM: u8 = 0x15;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;
const PSEUDO_MAP_FD: u8 = 1;
const SK_PASS: i32 = 1;

/// ```text
///  0  r6 = ctx
///  1  if ctx->local_port != port goto out
///  3  if ctx->local_ip4 != ip goto out
///  5  key = ctx->protocol == TCP ? 1 : 0
/// 10  sk = map_lookup_elem(&map, &key); if !sk goto out
/// 16  sk_assign(ctx, sk, 0); sk_release(sk)
/// 23  out: return SK_PASS
/// ```
fn program(server: SocketAddrV4, map: &OwnedFd) -> Vec<Insn> {
    let ip = i32::from_ne_bytes(server.ip().octets());
    vec![
        insn(MOV64_REG, 6, 1, 0, 0),
        insn(LDX_W, 2, 6, CTX_LOCAL_PORT, 0),
        insn(JNE32_IMM, 2, 0, 20, i32::from(server.port())),
        insn(LDX_W, 2, 6, CTX_LOCAL_IP4, 0),
        insn(JNE32_IMM, 2, 0, 18, ip),
        insn(LDX_W, 2, 6, CTX_PROTOCOL, 0),
        insn(MOV64_IMM, 3, 0, 0, 0),
        insn(JNE32_IMM, 2, 0, 1, libc::IPPROTO_TCP),
        insn(MOV64_IMM, 3, 0, 0, 1),
        insn(STX_W, 10, 3, -4, 0),
        insn(LD_IMM64, 1, PSEUDO_MAP_FD, 0, map.as_raw_fd()),
        insn(0, 0, 0, 0, 0),
        insn(MOV64_REG, 2, 10, 0, 0),
        insn(ADD64_IMM, 2, 0, 0, -4),
        insn(CALL, 0, 0, 0, MAP_LOOKUP_ELEM),
        insn(JEQ_IMM, 0, 0, 7, 0),
        insn(MOV64_REG, 7, 0, 0, 0),
        insn(MOV64_REG, 1, 6, 0, 0),
        insn(MOV64_REG, 2, 7, 0, 0),
        insn(MOV64_IMM, 3, 0, 0, 0),
        insn(CALL, 0, 0, 0, SK_ASSIGN),
        insn(MOV64_REG, 1, 7, 0, 0),
        insn(CALL, 0, 0, 0, SK_RELEASE),
        insn(MOV64_IMM, 0, 0, 0, SK_PASS),
        insn(EXIT, 0, 0, 0, 0),
    ]
}

/// bpf(2) with `attr`; the descriptor or number it returns.
fn bpf<T>(cmd: libc::c_long, attr: &T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a `union bpf_attr` prefix of its own size, which the kernel accepts
    // (it zero-extends a shorter one); every pointer in it is valid for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            std::ptr::from_ref(attr),
            size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A descriptor bpf(2) returned.
fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = i32::try_from(fd).map_err(io::Error::other)?;
    // SAFETY: bpf(2) just returned this descriptor, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[repr(C)]
struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
}

fn sockmap() -> io::Result<OwnedFd> {
    let attr = MapCreate {
        map_type: BPF_MAP_TYPE_SOCKMAP,
        key_size: 4,
        value_size: 4,
        max_entries: 2,
        map_flags: 0,
    };
    owned(bpf(BPF_MAP_CREATE, &attr)?)
}

#[repr(C)]
struct MapUpdate {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

fn insert(map: &OwnedFd, key: u32, socket: BorrowedFd<'_>) -> io::Result<()> {
    let value = socket.as_raw_fd();
    let attr = MapUpdate {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: std::ptr::from_ref(&key) as u64,
        value: std::ptr::from_ref(&value) as u64,
        flags: 0,
    };
    bpf(BPF_MAP_UPDATE_ELEM, &attr).map(drop)
}

#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// Loads the program; the verifier's log is in the error when it refuses.
fn load(insns: &[Insn]) -> io::Result<OwnedFd> {
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 1 << 16];
    let attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_SK_LOOKUP,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: *b"proxy_steer\0\0\0\0\0",
        prog_ifindex: 0,
        expected_attach_type: BPF_SK_LOOKUP,
    };
    match bpf(BPF_PROG_LOAD, &attr) {
        Ok(fd) => owned(fd),
        Err(e) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let log = String::from_utf8_lossy(&log[..end]);
            Err(io::Error::new(e.kind(), format!("{e}; verifier: {log}")))
        }
    }
}

#[repr(C)]
struct LinkCreate {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
}

fn attach(program: &OwnedFd, netns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let attr = LinkCreate {
        prog_fd: program.as_raw_fd() as u32,
        target_fd: netns.as_raw_fd() as u32,
        attach_type: BPF_SK_LOOKUP,
        flags: 0,
    };
    owned(bpf(BPF_LINK_CREATE, &attr)?)
}
