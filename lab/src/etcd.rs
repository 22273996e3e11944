//! [`Etcd`]: a real single-member etcd server running inside a lab namespace, for tests of
//! the cluster store. It is started through `ip netns exec`, so it listens on the lab
//! namespace's own addresses (typically its loopback) and never on the host's network.
//!
//! Clients are served over plain HTTP, or over TLS with [`Etcd::start_tls`]; readiness is
//! probed with `GET /health` on a plain metrics listener either way (client port + 2).
//!
//! Its directory `/run/obs-etcd/<lab prefix>-<name>` holds etcd's data (`data/`), its log
//! (`etcd.log`), its pid (`etcd.pid`) and the TLS files (`tls/`); the guard kills the server and removes the directory when dropped, also while
//! a test panics. [`Etcd::stop`] and [`Etcd::start_again`] keep the directory, for outage tests.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::LabError;
use crate::inside::in_netns;
use crate::name;
use crate::run_id;

/// Where the servers' directories live.
const ROOT: &str = "/run/obs-etcd";
/// How long a (re)started server may take to answer `/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a stopped server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// PEM contents for serving clients over TLS.
#[derive(Debug, Clone)]
pub struct EtcdTls {
    /// The CA that client certificates must be signed by (`--trusted-ca-file`).
    pub ca: String,
    /// The server certificate; its names must include the client address.
    pub cert: String,
    /// The server certificate's key.
    pub key: String,
    /// Whether clients must present a certificate signed by `ca` (`--client-cert-auth`).
    pub client_cert_auth: bool,
}

/// A running (or stopped) etcd server in a lab namespace. Dropping it kills the server and
/// removes its directory.
#[derive(Debug)]
pub struct Etcd {
    netns: String,
    client: SocketAddr,
    tls: Option<EtcdTls>,
    name: String,
    dir: PathBuf,
    child: Option<Child>,
    /// Left running with its directory when dropped ([`Etcd::persist`]).
    kept: bool,
}

impl Etcd {
    /// Starts etcd member `name` in the lab namespace `netns` (a node's namespace, e.g.
    /// [`crate::NodeRef::netns`]), serving clients on `listen:port` (plain HTTP), peers on
    /// `listen:port+1` and metrics on `listen:port+2`, and waits until it answers
    /// `GET /health`.
    ///
    /// # Errors
    ///
    /// [`LabError::InvalidName`] for a bad `name`, a namespace that is not a lab's (no run
    /// prefix), or `port` above 65533 (no room for the next two); [`LabError::DuplicateName`] when
    /// the directory exists already; [`LabError::Io`] when the directory cannot be made, etcd
    /// cannot be started, exits, or does not become healthy in time (the message carries the
    /// end of its log).
    pub fn start(netns: &str, listen: IpAddr, port: u16, name: &str) -> Result<Etcd, LabError> {
        Etcd::start_with(netns, SocketAddr::new(listen, port), name, None)
    }

    /// As [`Etcd::start`], serving clients over TLS with `tls` (written to the server's
    /// `tls/` directory); [`Etcd::client_url`] is then `https://`.
    ///
    /// # Errors
    ///
    /// As for [`Etcd::start`].
    pub fn start_tls(
        netns: &str,
        listen: IpAddr,
        port: u16,
        name: &str,
        tls: &EtcdTls,
    ) -> Result<Etcd, LabError> {
        Etcd::start_with(
            netns,
            SocketAddr::new(listen, port),
            name,
            Some(tls.clone()),
        )
    }

    fn start_with(
        netns: &str,
        client: SocketAddr,
        name: &str,
        tls: Option<EtcdTls>,
    ) -> Result<Etcd, LabError> {
        name::validate(name)?;
        let prefix = run_id::run_prefix_of(netns).ok_or_else(|| LabError::InvalidName {
            name: netns.to_owned(),
            reason: "etcd runs only in a lab namespace (one with a run prefix)",
        })?;
        if client.port() > u16::MAX - 2 {
            return Err(LabError::InvalidName {
                name: client.port().to_string(),
                reason: "the client port needs the next two ports free (peers, metrics)",
            });
        }
        let dir = Path::new(ROOT).join(format!("{prefix}-{name}"));
        create_dir(&dir, prefix, name)?;
        let mut etcd = Etcd {
            netns: netns.to_owned(),
            client,
            tls,
            name: name.to_owned(),
            dir,
            child: None,
            kept: false,
        };
        etcd.write_tls_files()?;
        etcd.start_again()?;
        Ok(etcd)
    }

    /// The URL clients connect to, `http://IP:PORT` or `https://IP:PORT` (reachable only
    /// inside the namespace).
    pub fn client_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.client)
    }

    /// The address clients connect to.
    pub fn client_addr(&self) -> SocketAddr {
        self.client
    }

    /// The namespace the server runs in.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The server's directory (`data/` and `etcd.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server process is running (started and not stopped or exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the server with SIGTERM and waits for it to exit (SIGKILL after 10 s). The data
    /// directory is kept for [`Etcd::start_again`]. Stopping a stopped server does nothing.
    ///
    /// # Errors
    ///
    /// [`LabError::Io`] when the process cannot be signalled or waited for.
    pub fn stop(&mut self) -> Result<(), LabError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        terminate(&mut child, STOP_TIMEOUT).map_err(|e| LabError::io(self.log_path(), e))
    }

    /// Starts the server again on the same data directory and addresses (after
    /// [`Etcd::stop`]) and waits until it is healthy. Does nothing while it runs.
    ///
    /// # Errors
    ///
    /// As for [`Etcd::start`].
    pub fn start_again(&mut self) -> Result<(), LabError> {
        if self.is_running() {
            return Ok(());
        }
        let child = self.spawn()?;
        // For whoever cleans up after a killed run: the server outlives its owner then.
        let pid_path = self.dir.join("etcd.pid");
        let pid = fs::write(&pid_path, format!("{}\n", child.id()));
        self.child = Some(child);
        pid.map_err(|e| LabError::io(pid_path, e))?;
        self.wait_healthy()
    }

    /// The server's log so far (empty when it cannot be read).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("etcd.log")
    }

    /// The address of the plain metrics and `/health` listener.
    fn metrics_addr(&self) -> SocketAddr {
        SocketAddr::new(self.client.ip(), self.client.port() + 2)
    }

    /// The TLS file `name` (`ca.pem`, `server.pem`, `server-key.pem`).
    fn tls_path(&self, name: &str) -> PathBuf {
        self.dir.join("tls").join(name)
    }

    /// Writes the TLS PEM files, if serving TLS.
    fn write_tls_files(&self) -> Result<(), LabError> {
        let Some(tls) = &self.tls else {
            return Ok(());
        };
        let tls_dir = self.dir.join("tls");
        fs::create_dir(&tls_dir).map_err(|e| LabError::io(&tls_dir, e))?;
        for (name, pem) in [
            ("ca.pem", &tls.ca),
            ("server.pem", &tls.cert),
            ("server-key.pem", &tls.key),
        ] {
            let path = self.tls_path(name);
            fs::write(&path, pem).map_err(|e| LabError::io(&path, e))?;
        }
        Ok(())
    }

    /// The TLS flags, if serving TLS.
    fn tls_flags(&self) -> Vec<String> {
        let Some(tls) = &self.tls else {
            return Vec::new();
        };
        let file = |flag: &str, name: &str| format!("--{flag}={}", self.tls_path(name).display());
        let mut flags = vec![
            file("cert-file", "server.pem"),
            file("key-file", "server-key.pem"),
            file("trusted-ca-file", "ca.pem"),
        ];
        if tls.client_cert_auth {
            flags.push("--client-cert-auth".into());
        }
        flags
    }

    /// Runs `ip netns exec NETNS etcd …`, appending its output to the log. `ip netns exec`
    /// execs etcd, so the child's pid is etcd's.
    fn spawn(&self) -> Result<Child, LabError> {
        let log_path = self.log_path();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| LabError::io(&log_path, e))?;
        let stderr = log.try_clone().map_err(|e| LabError::io(&log_path, e))?;
        Command::new("ip")
            .args(["netns", "exec", &self.netns, "etcd"])
            .args(self.flags())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|e| LabError::io(&log_path, e))
    }

    /// etcd's command line: one member, small raft timings so it elects itself at once.
    fn flags(&self) -> Vec<String> {
        let client = self.client_url();
        let peer = format!(
            "http://{}",
            SocketAddr::new(self.client.ip(), self.client.port() + 1)
        );
        let data = self.dir.join("data");
        let mut flags = vec![
            format!("--name={}", self.name),
            format!("--data-dir={}", data.display()),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster={}={peer}", self.name),
            "--initial-cluster-state=new".into(),
            "--heartbeat-interval=20".into(),
            "--election-timeout=200".into(),
            "--logger=zap".into(),
            "--log-outputs=stderr".into(),
            format!("--listen-metrics-urls=http://{}", self.metrics_addr()),
        ];
        flags.extend(self.tls_flags());
        flags
    }

    /// Polls `GET /health` until it says healthy, failing early if the process exits.
    fn wait_healthy(&mut self) -> Result<(), LabError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.exited()? {
                return Err(self.failure(&format!("etcd exited ({status})")));
            }
            let addr = self.metrics_addr();
            if in_netns(&self.netns, move || healthy(addr))? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.failure("etcd did not become healthy within 15 s"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit status if the server has exited.
    fn exited(&mut self) -> Result<Option<std::process::ExitStatus>, LabError> {
        let log = self.log_path();
        match self.child.as_mut() {
            None => Ok(None),
            Some(child) => child.try_wait().map_err(|e| LabError::io(log, e)),
        }
    }

    /// An error about the server at its log path, quoting the end of the log.
    fn failure(&self, what: &str) -> LabError {
        let log = self.log();
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        LabError::io(
            self.log_path(),
            io::Error::other(format!("{what}; log ends:\n{}", tail.join("\n"))),
        )
    }
}

impl Etcd {
    /// Leaves the server running with its directory (for the demo, which outlives this
    /// process); returns its pid. Whoever tears the lab down must stop it and remove
    /// [`Etcd::dir`].
    pub fn persist(mut self) -> Option<u32> {
        self.kept = true;
        self.child.take().map(|c| c.id())
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("lab: failed to remove {}: {e}", self.dir.display());
        }
    }
}

/// Creates the server's directory, failing if it exists (another server of the lab has it).
fn create_dir(dir: &Path, prefix: &str, name: &str) -> Result<(), LabError> {
    fs::create_dir_all(ROOT).map_err(|e| LabError::io(ROOT, e))?;
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(LabError::DuplicateName {
            name: name.to_owned(),
            prefix: prefix.to_owned(),
        }),
        Err(e) => Err(LabError::io(dir, e)),
    }
}

/// SIGTERM, then wait up to `timeout`, then SIGKILL.
fn terminate(child: &mut Child, timeout: Duration) -> io::Result<()> {
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    // SAFETY: `kill` has no memory preconditions; the pid is our own unreaped child.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait().map(drop)
}

/// Whether etcd at `addr` answers `GET /health` with `"health":"true"` (run inside the
/// server's namespace).
fn healthy(addr: SocketAddr) -> bool {
    let probe = || -> io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
        stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
        stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
        write!(stream, "GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply)
    };
    probe().is_ok_and(|reply| is_healthy_reply(&reply))
}

/// Whether an HTTP reply to `/health` says the member is healthy.
fn is_healthy_reply(reply: &str) -> bool {
    reply.starts_with("HTTP/1.") && reply.contains("200") && reply.contains(r#""health":"true""#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lab, require_root};

    #[test]
    fn recognises_a_healthy_reply() {
        let ok = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{\"health\":\"true\"}";
        let bad = "HTTP/1.0 503 Service Unavailable\r\n\r\n{\"health\":\"false\"}";
        assert!(is_healthy_reply(ok));
        assert!(!is_healthy_reply(bad));
        assert!(!is_healthy_reply(""));
    }

    #[test]
    fn refuses_a_namespace_outside_the_lab() {
        let err = Etcd::start("not-a-lab", "127.0.0.1".parse().unwrap(), 2379, "x")
            .expect_err("host-like namespace");
        assert!(matches!(err, LabError::InvalidName { .. }), "{err}");
    }

    #[test]
    fn starts_stops_restarts_and_cleans_up() {
        if !require_root() {
            return;
        }
        let mut lab = Lab::new("etcd").expect("lab");
        let node = lab.add_node("kv").expect("node");
        let localhost = "127.0.0.1".parse().unwrap();
        let mut etcd = Etcd::start(&node.netns, localhost, 2379, "e1").expect("etcd");
        assert_eq!(etcd.client_url(), "http://127.0.0.1:2379");
        let dir = etcd.dir().to_owned();
        assert!(dir.join("data").is_dir());
        let metrics = etcd.metrics_addr();
        etcd.stop().expect("stop");
        assert!(!etcd.is_running());
        assert!(!in_netns(&node.netns, || healthy(metrics)).expect("netns"));
        etcd.start_again().expect("restart");
        assert!(in_netns(&node.netns, || healthy(metrics)).expect("netns"));
        // The client port serves etcd's HTTP API too.
        assert!(in_netns(&node.netns, || healthy(etcd.client_addr())).expect("netns"));
        assert!(!etcd.log().is_empty());
        drop(etcd);
        assert!(!dir.exists());
    }
}
