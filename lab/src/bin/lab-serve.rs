//! `lab-serve --tcp 80,8080 --udp 5353 [--http 8081,...] [--dns NAME=IP,...]`: echo servers
//! on every address of the current network namespace (one dual-stack IPv6 socket per port
//! serves IPv4 too), with `--http` HTTP servers (every request answered 200, see
//! [`lab::HttpServer`]), and with `--dns` a DNS server on port 53 (UDP and TCP) answering
//! the given names (TTL 60 s), until killed. The demo starts one in each pod namespace
//! (`ip netns exec POD lab-serve ...`) so the lab keeps answering after the demo command
//! has exited.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::process::ExitCode;
use std::thread;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Args {
        tcp,
        udp,
        http,
        dns,
    } = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "lab-serve: {e}\nusage: lab-serve [--tcp PORT,...] [--udp PORT,...] [--http PORT,...] [--dns NAME=IP,...]"
            );
            return ExitCode::FAILURE;
        }
    };
    // Kept alive until the process is killed.
    let _dns = if dns.is_empty() {
        None
    } else {
        match serve_dns(&dns) {
            Ok(server) => Some(server),
            Err(e) => {
                eprintln!("lab-serve: dns: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let mut http_servers = Vec::new();
    for port in &http {
        match lab::HttpServer::start("", SocketAddr::from(([0, 0, 0, 0], *port))) {
            Ok(server) => http_servers.push(server),
            Err(e) => eprintln!("lab-serve: http port {port}: {e}"),
        }
    }
    let mut handles = Vec::new();
    for port in tcp {
        match TcpListener::bind(format!("[::]:{port}"))
            .or_else(|_| TcpListener::bind(format!("0.0.0.0:{port}")))
        {
            Ok(l) => handles.push(thread::spawn(move || serve_tcp(l))),
            Err(e) => eprintln!("lab-serve: tcp port {port}: {e}"),
        }
    }
    for port in udp {
        match UdpSocket::bind(format!("[::]:{port}"))
            .or_else(|_| UdpSocket::bind(format!("0.0.0.0:{port}")))
        {
            Ok(s) => handles.push(thread::spawn(move || serve_udp(s))),
            Err(e) => eprintln!("lab-serve: udp port {port}: {e}"),
        }
    }
    for h in handles {
        let _ = h.join();
    }
    if _dns.is_some() || !http_servers.is_empty() {
        loop {
            thread::park();
        }
    }
    ExitCode::SUCCESS
}

/// What to serve.
struct Args {
    tcp: Vec<u16>,
    udp: Vec<u16>,
    http: Vec<u16>,
    dns: Vec<(String, IpAddr)>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        tcp: Vec::new(),
        udp: Vec::new(),
        http: Vec::new(),
        dns: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let list = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tcp" => parsed.tcp.extend(ports(list)?),
            "--udp" => parsed.udp.extend(ports(list)?),
            "--http" => parsed.http.extend(ports(list)?),
            "--dns" => parsed.dns.extend(names(list)?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(parsed)
}

fn ports(list: &str) -> Result<Vec<u16>, String> {
    list.split(',')
        .map(|p| p.parse::<u16>().map_err(|_| format!("bad port {p:?}")))
        .collect()
}

fn names(list: &str) -> Result<Vec<(String, IpAddr)>, String> {
    list.split(',')
        .map(|entry| {
            let (name, ip) = entry
                .split_once('=')
                .ok_or_else(|| format!("bad DNS entry {entry:?}: expected NAME=IP"))?;
            let ip = ip
                .parse()
                .map_err(|_| format!("bad address {ip:?} in {entry:?}"))?;
            Ok((name.to_string(), ip))
        })
        .collect()
}

/// A DNS server on port 53 of this namespace answering `names`.
fn serve_dns(names: &[(String, IpAddr)]) -> Result<lab::DnsServer, lab::LabError> {
    let addrs: Vec<[IpAddr; 1]> = names.iter().map(|(_, ip)| [*ip]).collect();
    let zone: Vec<(&str, &[IpAddr], u32)> = names
        .iter()
        .zip(&addrs)
        .map(|((name, _), ip)| (name.as_str(), &ip[..], 60))
        .collect();
    lab::DnsServer::start("", SocketAddr::from(([0, 0, 0, 0], 53)), &zone)
}

fn serve_tcp(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        thread::spawn(move || {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 || stream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
}

fn serve_udp(socket: UdpSocket) {
    let mut buf = [0u8; 4096];
    while let Ok((n, peer)) = socket.recv_from(&mut buf) {
        let _ = socket.send_to(&buf[..n], peer);
    }
}
