//! `observerd` command-line options.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// The node agent: loads and attaches the eBPF datapath, turns applied manifests into
/// endpoints and enforced policy, and serves every verdict over a Hubble-compatible API.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "observerd",
    version,
    about = "The node agent: enforces Cilium network policies on endpoints with eBPF and serves every verdict over a Hubble-compatible gRPC API.",
    long_about = "The node agent: enforces Cilium network policies (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy) on endpoints (network namespaces with labels) with eBPF programs on their veths, and serves every verdict and flow over a Hubble-compatible gRPC API.\n\nExample: observerd --node-name node-1 --socket /run/observe/observer.sock\nThen: observe apply -f manifests/ and observe flows --verdict DROPPED"
)]
pub struct Options {
    /// This node's name: pods without `spec.nodeName` (or with this name) become local
    /// endpoints. Example: --node-name node-1
    #[arg(long, env = "OBSERVERD_NODE_NAME")]
    pub node_name: String,
    /// Unix socket for the gRPC API (observer.Observer and the control API), mode 0660.
    #[arg(long, default_value = "/run/observe/observer.sock")]
    pub socket: PathBuf,
    /// Where the datapath's maps and links are pinned (a bpffs path); per node below it.
    #[arg(long, default_value = "/sys/fs/bpf/observe")]
    pub pin_root: PathBuf,
    /// Where the applied objects are kept, so a restarted agent adopts its state.
    #[arg(long, default_value = "/run/observe/state")]
    pub state_dir: PathBuf,
    /// Named network namespace (under /var/run/netns) that is this node: the agent enters
    /// it at start and wires endpoints to it. Without it the agent stays where it was
    /// started: a named namespace, or the host's own (endpoint namespaces are then named
    /// `observe-...` unless --netns-prefix says otherwise). Prefer this to `ip netns exec`, whose
    /// private mount namespace would hide the endpoint namespaces the agent creates.
    #[arg(long)]
    pub node_netns: Option<String>,
    /// Prefix of the network namespaces created for endpoints (default: the node
    /// namespace's name). Example: --netns-prefix obs-demo
    #[arg(long)]
    pub netns_prefix: Option<String>,
    /// Addresses for pods applied without `status.podIP`. Example: --pod-cidr 10.0.9.0/24
    #[arg(long, default_value = "10.0.200.0/24", value_parser = parse_cidr)]
    pub pod_cidr: enforcer::net::Cidr,
    /// Cluster name (the `io.cilium.k8s.policy.cluster` label).
    #[arg(long, default_value = "default")]
    pub cluster_name: String,
    /// Slots of the queue between the kernel ring reader and the decoder (default: 1,024 per
    /// CPU, at most 16,384). A full queue drops events and reports them as lost.
    #[arg(long)]
    pub event_queue_size: Option<usize>,
    /// Flow ring capacity: a power of two minus one (4095, 65535, ...).
    #[arg(long, default_value_t = 4095)]
    pub max_flows: u32,
    /// Trace events: off (drops and policy verdicts only), new (first packet of each new
    /// connection), all (every forwarded packet) or aggregate (connections, not packets:
    /// the first packet, then a packet only when its direction shows new TCP flags or
    /// `--monitor-aggregation-interval` passed, each with the connection's counters).
    #[arg(long, value_enum, default_value = "new")]
    pub trace: TraceMode,
    /// With `--trace aggregate`: the longest a connection that keeps sending goes without
    /// a trace event, as Cilium's option of this name. A Go duration: 5s, 500ms
    #[arg(long, default_value = "5s", value_parser = observe_flags::duration::parse_timeout)]
    pub monitor_aggregation_interval: std::time::Duration,
    /// Log level: error, warn, info, debug.
    #[arg(long, default_value = "info")]
    pub log_level: String,

    /// Group that may use the unix socket (mode 0660): a name or a numeric GID.
    /// Example: --socket-group observe
    #[arg(long, value_name = "NAME|GID")]
    pub socket_group: Option<String>,
    /// Also serve the observer API (not the control API) on TCP. Needs --tls-cert-file
    /// and --tls-key-file, or an explicit --insecure. Example: --listen-address 0.0.0.0:4244
    #[arg(long, value_name = "HOST:PORT")]
    pub listen_address: Option<String>,
    /// PEM certificate chain of the TCP listener.
    #[arg(long, requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of --tls-cert-file.
    #[arg(long, requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA certificates that sign client certificates, comma-separated: clients must
    /// present one (mutual TLS).
    #[arg(long, value_delimiter = ',', requires = "tls_cert_file")]
    pub tls_client_ca_files: Vec<PathBuf>,
    /// Serve --listen-address without TLS: anyone who can reach the port reads every
    /// flow. Must be given explicitly.
    #[arg(long, conflicts_with_all = ["tls_cert_file", "tls_key_file", "tls_client_ca_files"])]
    pub insecure: bool,

    /// Serve Prometheus metrics on http://HOST:PORT/metrics (off by default).
    /// Example: --metrics-address 127.0.0.1:9965
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_address: Option<String>,
    /// Flow metrics to enable, comma-separated (default: all): drop, flow, policy,
    /// port-distribution, tcp, icmp.
    #[arg(long, value_delimiter = ',', requires = "metrics_address")]
    pub metrics: Vec<String>,

    /// Export flows to this file as JSON lines (Hubble's exporter format).
    #[arg(long, value_name = "PATH")]
    pub export_file: Option<PathBuf>,
    /// Size at which the export file rotates (to PATH.1, PATH.2, ...).
    #[arg(long, default_value_t = 10, requires = "export_file")]
    pub export_file_max_size_mb: u64,
    /// Rotated export files kept.
    #[arg(long, default_value_t = 5, requires = "export_file")]
    pub export_file_max_backups: usize,
    /// Only export flows matching one of these JSON FlowFilters.
    /// Example: --export-allowlist '{"verdict":["DROPPED"]}'
    #[arg(long, requires = "export_file")]
    pub export_allowlist: Vec<String>,
    /// Do not export flows matching one of these JSON FlowFilters.
    #[arg(long, requires = "export_file")]
    pub export_denylist: Vec<String>,
    /// Flow fields to export, comma-separated (default: all). Example:
    /// --export-fieldmask time,verdict,source.pod_name,destination.pod_name
    #[arg(long, value_delimiter = ',', requires = "export_file")]
    pub export_fieldmask: Vec<String>,

    /// Keep flows older than the ring on disk here, so GetFlows --since reaches further
    /// back.
    #[arg(long, value_name = "PATH")]
    pub history_dir: Option<PathBuf>,
    /// Most space the on-disk history may take; the oldest flows are deleted first.
    #[arg(long, default_value_t = 256, requires = "history_dir")]
    pub history_max_size_mb: u64,

    /// Port of the transparent DNS proxy (UDP and TCP on 127.0.0.1) that enforces
    /// `rules.dns` and learns `toFQDNs` answers. 0: the port of the previous run (kept in
    /// --state-dir, so the datapath keeps steering to it across a restart), else a free one.
    #[arg(long, default_value_t = 0)]
    pub dns_proxy_port: u16,
    /// Port of the transparent HTTP proxy (TCP on 127.0.0.1 and ::1) that enforces
    /// `rules.http`. 0: a free port.
    #[arg(long, default_value_t = 0)]
    pub http_proxy_port: u16,
    /// How long the HTTP proxy waits for a request's head before it closes the connection.
    /// A Go duration: 10s, 500ms
    #[arg(long, default_value = "10s", value_parser = observe_flags::duration::parse_timeout)]
    pub http_header_read_timeout: std::time::Duration,
    /// How the DNS proxy answers a denied query: refused or nameError (NXDOMAIN; for
    /// resolvers that stop their search at REFUSED, such as musl's).
    #[arg(long, value_enum, default_value = "refused")]
    pub dns_reject_response_code: RejectCode,
    /// How long the DNS proxy holds an allowed answer until the datapath knows its
    /// addresses (then it releases it anyway, and counts that). A Go duration: 100ms, 1s
    #[arg(long, default_value = "100ms", value_parser = observe_flags::duration::parse_timeout)]
    pub tofqdns_proxy_response_max_delay: std::time::Duration,
    /// The shortest TTL a learned address is kept for (0: the answer's own TTL).
    #[arg(long, default_value = "0s", value_parser = observe_flags::duration::parse_timeout)]
    pub tofqdns_min_ttl: std::time::Duration,
    /// Addresses kept per name and endpoint; the ones expiring first are evicted beyond it.
    #[arg(long, default_value_t = 1000)]
    pub tofqdns_endpoint_max_ip_per_hostname: usize,
    /// How long an expired address the endpoint connected to stays allowed for new
    /// connections.
    #[arg(long, default_value = "0s", value_parser = observe_flags::duration::parse_timeout)]
    pub tofqdns_idle_connection_grace_period: std::time::Duration,

    /// Enforce host policies (CiliumClusterwideNetworkPolicies with `nodeSelector`) on
    /// this node's own traffic: on its network devices (--devices) and towards its pods.
    /// Off by default, as in Cilium.
    #[arg(long)]
    pub enable_host_firewall: bool,
    /// The node's network devices the host firewall runs on, comma-separated (Cilium's
    /// --devices). Default: every interface of the node namespace but loopback and
    /// endpoint links. Example: --devices ul0
    #[arg(long, value_delimiter = ',', requires = "enable_host_firewall")]
    pub devices: Vec<String>,

    /// Cluster membership: the kvstore and what this node registers there.
    #[command(flatten)]
    pub cluster: super::cluster::options::ClusterOptions,
}

/// `--dns-reject-response-code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RejectCode {
    /// REFUSED (rcode 5).
    #[value(name = "refused")]
    Refused,
    /// NXDOMAIN (rcode 3).
    #[value(name = "nameError")]
    NameError,
}

/// Options that cannot work together, found before anything is started.
#[derive(Debug, thiserror::Error)]
pub enum InvalidOptions {
    /// Plaintext TCP was not asked for explicitly.
    #[error(
        "refusing to serve plaintext gRPC on --listen-address {0}: anyone who can reach it \
         could read every flow. Pass --tls-cert-file and --tls-key-file (and \
         --tls-client-ca-files to require client certificates), or --insecure to accept \
         plaintext explicitly"
    )]
    PlaintextTcp(String),
    /// TLS files without a TCP listener would be ignored.
    #[error("--tls-cert-file and --tls-key-file only apply to --listen-address, which is not set")]
    TlsWithoutListener,
    /// An address does not parse.
    #[error("invalid {flag} {value:?}: expected HOST:PORT, e.g. 127.0.0.1:9965")]
    Address {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
    },
    /// A size must be positive.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

impl Options {
    /// `--monitor-aggregation-interval` as the datapath takes it (ms, at most ~49 days).
    pub fn aggregation_interval_ms(&self) -> u32 {
        u32::try_from(self.monitor_aggregation_interval.as_millis()).unwrap_or(u32::MAX)
    }

    /// Checks the listener, TLS and size options, before anything is started.
    ///
    /// # Errors
    ///
    /// [`InvalidOptions`] naming the offending flags.
    pub fn validate(&self) -> Result<(), InvalidOptions> {
        match (&self.listen_address, &self.tls_cert_file) {
            (Some(addr), None) if !self.insecure => {
                return Err(InvalidOptions::PlaintextTcp(addr.clone()));
            }
            (None, Some(_)) => return Err(InvalidOptions::TlsWithoutListener),
            _ => {}
        }
        for (flag, value) in [
            ("--listen-address", &self.listen_address),
            ("--metrics-address", &self.metrics_address),
        ] {
            if let Some(value) = value {
                resolve(flag, value)?;
            }
        }
        if self.export_file.is_some() && self.export_file_max_size_mb == 0 {
            return Err(InvalidOptions::Zero("--export-file-max-size-mb"));
        }
        if self.history_dir.is_some() && self.history_max_size_mb == 0 {
            return Err(InvalidOptions::Zero("--history-max-size-mb"));
        }
        if self.event_queue_size == Some(0) {
            return Err(InvalidOptions::Zero("--event-queue-size"));
        }
        Ok(())
    }

    /// The DNS caches' settings.
    pub fn fqdn_cache_config(&self) -> enforcer::fqdn::CacheConfig {
        enforcer::fqdn::CacheConfig {
            min_ttl: self.tofqdns_min_ttl,
            max_ips_per_name: self.tofqdns_endpoint_max_ip_per_hostname,
            idle_grace: self.tofqdns_idle_connection_grace_period,
        }
    }

    /// The TCP listener's TLS files, if TLS is configured.
    pub fn tls_files(&self) -> Option<crate::listen::TlsFiles> {
        Some(crate::listen::TlsFiles {
            cert: self.tls_cert_file.clone()?,
            key: self.tls_key_file.clone()?,
            client_cas: self.tls_client_ca_files.clone(),
        })
    }
}

/// Resolves `HOST:PORT` (a name resolves to its first address).
///
/// # Errors
///
/// [`InvalidOptions::Address`] when it does not resolve.
pub fn resolve(flag: &'static str, value: &str) -> Result<std::net::SocketAddr, InvalidOptions> {
    use std::net::ToSocketAddrs;
    let invalid = || InvalidOptions::Address {
        flag,
        value: value.to_string(),
    };
    value
        .to_socket_addrs()
        .map_err(|_| invalid())?
        .next()
        .ok_or_else(invalid)
}

/// Trace event modes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// No trace events.
    Off,
    /// The first packet of each new connection.
    New,
    /// Every forwarded packet.
    All,
    /// Connections: new ones, new TCP flags and an interval, with counters.
    Aggregate,
}

impl TraceMode {
    /// The datapath's value (`probe_common::event::trace_mode`).
    pub fn value(self) -> u32 {
        use probe_common::event::trace_mode;
        match self {
            Self::Off => trace_mode::OFF,
            Self::New => trace_mode::NEW_CONNECTIONS,
            Self::All => trace_mode::ALL,
            Self::Aggregate => trace_mode::AGGREGATE,
        }
    }
}

/// `--pod-cidr`: a strict prefix (no host bits set), checked before anything starts.
fn parse_cidr(s: &str) -> Result<enforcer::net::Cidr, String> {
    enforcer::net::Cidr::parse_strict(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use observe_describe::advice::flags;

    fn parse(args: &[&str]) -> Options {
        let mut argv = vec!["observerd", "--node-name", "n1"];
        argv.extend_from_slice(args);
        Options::try_parse_from(argv).expect("valid arguments")
    }

    #[test]
    fn aggregation_takes_cilium_s_interval_default_and_a_go_duration() {
        let o = parse(&[]);
        assert_eq!(o.trace, TraceMode::New);
        assert_eq!(o.aggregation_interval_ms(), 5_000);
        let o = parse(&[
            "--trace",
            "aggregate",
            "--monitor-aggregation-interval",
            "250ms",
        ]);
        assert_eq!(o.trace.value(), probe_common::event::trace_mode::AGGREGATE);
        assert_eq!(o.aggregation_interval_ms(), 250);
        let o = parse(&["--monitor-aggregation-interval", "2000h"]);
        assert_eq!(o.aggregation_interval_ms(), u32::MAX, "saturates");
    }

    #[test]
    fn dns_proxy_durations_and_reject_codes_parse_with_cilium_s_defaults() {
        let o = parse(&[]);
        assert_eq!(
            o.tofqdns_proxy_response_max_delay,
            std::time::Duration::from_millis(100)
        );
        assert_eq!(o.tofqdns_min_ttl, std::time::Duration::ZERO);
        assert_eq!(o.tofqdns_endpoint_max_ip_per_hostname, 1000);
        assert_eq!(o.dns_reject_response_code, RejectCode::Refused);
        let o = parse(&[
            "--tofqdns-min-ttl",
            "1h",
            "--dns-reject-response-code",
            "nameError",
        ]);
        assert_eq!(o.tofqdns_min_ttl, std::time::Duration::from_secs(3600));
        assert_eq!(o.dns_reject_response_code, RejectCode::NameError);
        let argv = [
            "observerd",
            "--node-name",
            "n",
            "--tofqdns-min-ttl",
            "5 days",
        ];
        assert!(Options::try_parse_from(argv).is_err());
    }

    #[test]
    fn the_flags_lost_event_advice_names_exist() {
        let cmd = Options::command();
        for flag in [
            flags::TRACE,
            flags::EVENT_QUEUE_SIZE,
            flags::MAX_FLOWS,
            flags::HISTORY_DIR,
        ] {
            let long = flag.trim_start_matches("--");
            assert!(
                cmd.get_arguments().any(|a| a.get_long() == Some(long)),
                "observerd has no {flag}"
            );
        }
    }

    #[test]
    fn a_bad_pod_cidr_is_rejected_before_anything_starts() {
        let err = Options::try_parse_from([
            "observerd",
            "--node-name",
            "n1",
            "--pod-cidr",
            "10.0.0.1/24",
        ])
        .expect_err("host bits set");
        assert!(err.to_string().contains("--pod-cidr"), "{err}");
        assert_eq!(parse(&[]).pod_cidr.to_string(), "10.0.200.0/24");
    }

    #[test]
    fn an_empty_event_queue_is_rejected() {
        let err = parse(&["--event-queue-size", "0"]).validate().unwrap_err();
        assert_eq!(err.to_string(), "--event-queue-size must be at least 1");
        assert!(parse(&["--event-queue-size", "64"]).validate().is_ok());
    }
}
