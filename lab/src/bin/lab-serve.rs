//! `lab-serve --tcp 80,8080 --udp 53`: echo servers on every address of the current network
//! namespace (one dual-stack IPv6 socket per port serves IPv4 too), until killed. The demo starts one in each pod namespace
//! (`ip netns exec POD lab-serve ...`) so the lab keeps answering after the demo command
//! has exited.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::ExitCode;
use std::thread;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (tcp, udp) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("lab-serve: {e}\nusage: lab-serve [--tcp PORT,...] [--udp PORT,...]");
            return ExitCode::FAILURE;
        }
    };
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
    ExitCode::SUCCESS
}

fn parse(args: &[String]) -> Result<(Vec<u16>, Vec<u16>), String> {
    let (mut tcp, mut udp) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let list = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let ports = list
            .split(',')
            .map(|p| p.parse::<u16>().map_err(|_| format!("bad port {p:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        match flag.as_str() {
            "--tcp" => tcp.extend(ports),
            "--udp" => udp.extend(ports),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok((tcp, udp))
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
