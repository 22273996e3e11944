//! Command-line arguments (clap derive): parsing and validation of what the user typed,
//! nothing else.

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Policy-aware network flow visibility: trace, validate and observe Cilium network
/// policies.
#[derive(Parser, Debug)]
#[command(name = "observe", version, about, propagate_version = true)]
pub struct Cli {
    /// How to reach the agent.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command that talks to the agent shares.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Address of the agent: unix:///PATH (default), host:port, http://host:port or
    /// tls://host:port (TLS, see --tls-ca-cert-files).
    /// Example: --server unix:///run/observe/observer.sock
    #[arg(long, global = true, env = "OBSERVE_SERVER", default_value = observe_proto::client::DEFAULT_SERVER)]
    pub server: String,
    /// How long to wait for the connection to the agent. Example: --timeout 2s
    #[arg(long, global = true, env = "OBSERVE_TIMEOUT", default_value = "5s", value_parser = observe_flags::duration::parse_timeout)]
    pub timeout: std::time::Duration,
    /// How long the agent may take to answer a unary request, as in Hubble: only
    /// non-streaming calls (status, get, apply, delete, policy trace), never the flow
    /// stream of `observe flows`. 0 means no limit. Example: --request-timeout 30s
    #[arg(long, global = true, env = "OBSERVE_REQUEST_TIMEOUT", default_value = "12s", value_parser = observe_flags::duration::parse_timeout)]
    pub request_timeout: std::time::Duration,
    /// Config file to read instead of the default one
    /// ($XDG_CONFIG_HOME/observe/config.yaml or ~/.config/observe/config.yaml); it must
    /// exist. Example: --config ./observe.yaml
    // Empty (`OBSERVE_CONFIG=`) parses, and means the default file.
    #[arg(long, global = true, env = "OBSERVE_CONFIG", value_name = "FILE",
          value_parser = clap::builder::OsStringValueParser::new().map(std::path::PathBuf::from))]
    pub config: Option<std::path::PathBuf>,
    /// TLS to the agent's TCP listener.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// TLS client flags, like `hubble`'s: `--server tls://host:port` (or `--tls`) turns TLS
/// on; the rest say how to verify the server and what to present to it. Each can also be
/// set through its `OBSERVE_TLS*` environment variable.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Use TLS for a host:port server (implied by tls://host:port).
    #[arg(long, global = true, env = "OBSERVE_TLS", value_parser = clap::builder::FalseyValueParser::new())]
    pub tls: bool,
    /// PEM files of the CAs that may sign the server certificate, comma-separated
    /// (default: the system roots). Example: --tls-ca-cert-files /etc/observe/ca.pem
    #[arg(
        long,
        global = true,
        env = "OBSERVE_TLS_CA_CERT_FILES",
        value_delimiter = ','
    )]
    pub tls_ca_cert_files: Vec<std::path::PathBuf>,
    /// PEM client certificate, for servers that verify clients (mTLS).
    #[arg(
        long,
        global = true,
        env = "OBSERVE_TLS_CLIENT_CERT_FILE",
        requires = "tls_client_key_file"
    )]
    pub tls_client_cert_file: Option<std::path::PathBuf>,
    /// PEM private key of --tls-client-cert-file.
    #[arg(
        long,
        global = true,
        env = "OBSERVE_TLS_CLIENT_KEY_FILE",
        requires = "tls_client_cert_file"
    )]
    pub tls_client_key_file: Option<std::path::PathBuf>,
    /// Name the server certificate must carry (default: the host of --server).
    /// Example: --tls-server-name node-1.observe.local
    #[arg(long, global = true, env = "OBSERVE_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,
    /// Accept any server certificate: encrypted but unauthenticated, for tests only.
    #[arg(long, global = true, env = "OBSERVE_TLS_ALLOW_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    pub tls_allow_insecure: bool,
}

impl TlsArgs {
    /// The client library's view of these flags.
    pub fn options(&self) -> observe_proto::client::TlsOptions {
        observe_proto::client::TlsOptions {
            enabled: self.tls,
            ca_cert_files: self.tls_ca_cert_files.clone(),
            client_cert_file: self.tls_client_cert_file.clone(),
            client_key_file: self.tls_client_key_file.clone(),
            server_name: self.tls_server_name.clone(),
            allow_insecure: self.tls_allow_insecure,
        }
    }
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with network policies: trace a flow, print the reachability matrix, validate
    /// manifests.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Apply manifests to the agent (pods become endpoints, policies are enforced).
    ///
    /// Example: observe apply -f examples/
    Apply(crate::commands::apply::ApplyArgs),
    /// Delete what manifests name, or every policy.
    ///
    /// Example: observe delete -f examples/policies.yaml; observe delete policies --all
    Delete(crate::commands::delete::DeleteArgs),
    /// List endpoints, identities or policies of the agent.
    ///
    /// Example: observe get endpoints -o json
    Get(crate::commands::get::GetArgs),
    /// Observe flows, like `hubble observe`.
    ///
    /// Example: observe flows --verdict DROPPED --last 20
    Flows(Box<crate::commands::flows::FlowsArgs>),
    /// Show the agent's status, like `hubble status`.
    Status(crate::commands::status::StatusArgs),
    /// List the nodes behind the server or the namespaces seen, like `hubble list`.
    ///
    /// Example: observe --server unix:///run/observe/relay.sock list nodes
    #[command(subcommand)]
    List(crate::commands::list::ListCommand),
    /// Interactive terminal dashboard for live policy troubleshooting.
    Tui(crate::commands::tui::TuiArgs),
    /// Print a shell completion script.
    ///
    /// Example: observe completion bash > ~/.local/share/bash-completion/completions/observe
    Completion(crate::commands::completion::CompletionArgs),
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

/// Parses the command line, nothing else: no file is read and nothing exits here (the
/// config file is applied afterwards, by `main`).
///
/// # Errors
///
/// Clap's error, which is also how help and version are asked for.
pub fn parse_from<I, T>(argv: I) -> Result<(Cli, clap::ArgMatches), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(argv)?;
    Ok((Cli::from_arg_matches(&matches)?, matches))
}

impl Command {
    /// Whether the command talks to the agent, so that the config file (which only holds
    /// the flags of that connection) applies: not completions, the man page, offline
    /// policy commands or a replayed `--input-file`.
    pub fn uses_agent(&self) -> bool {
        match self {
            Self::Policy(PolicyCommand::Trace(trace)) => trace.files.is_empty(),
            Self::Policy(PolicyCommand::Matrix(_) | PolicyCommand::Validate(_)) => false,
            Self::Policy(
                PolicyCommand::Whatif(_)
                | PolicyCommand::Suggest(_)
                | PolicyCommand::Stage(_)
                | PolicyCommand::Unstage
                | PolicyCommand::Promote,
            ) => true,
            Self::Flows(flows) => flows.input_file.is_none(),
            Self::Apply(_)
            | Self::Delete(_)
            | Self::Get(_)
            | Self::Status(_)
            | Self::List(_)
            | Self::Tui(_) => true,
            Self::Completion(_) | Self::Man => false,
        }
    }
}

/// `observe policy ...`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Would this flow be allowed, and by which rule?
    ///
    /// Explains both directions like `cilium policy trace`: which policies select the
    /// source for egress and the destination for ingress, which rule allowed or denied the
    /// flow, or that none matched under default deny, then the final verdict. Offline from
    /// manifests with -f, otherwise against the running agent.
    ///
    /// Example: observe policy trace -f examples/ --from shop/frontend --to shop/backend --dport 8080
    Trace(TraceArgs),
    /// Print who can reach whom, per port, like the Kubernetes e2e truth tables.
    ///
    /// Rows and columns are pods, and workloads (one each, not one per replica).
    ///
    /// Example: observe policy matrix -f examples/ --ports 8080/TCP,53/UDP
    Matrix(MatrixArgs),
    /// Check manifests without applying them: exit 0 with a summary, or exit 1 listing
    /// every error with its file, document, object, field path and value.
    ///
    /// Example: observe policy validate -f policies/
    Validate(ManifestArgs),
    /// Which recorded connections would change verdict with these manifests applied?
    ///
    /// The agent replays its flow history (policy verdicts and drops) through a copy of
    /// its policy with the manifests on top; nothing is applied. Exit 0 when no allowed
    /// connection would be denied, 1 when some would.
    ///
    /// Example: observe policy whatif -f new-policy.yaml --since 1h
    Whatif(WhatIfArgs),
    /// Write least-privilege policies for a namespace from the allowed traffic the agent
    /// recorded: by labels, toFQDNs for names seen, as CiliumNetworkPolicy YAML.
    ///
    /// Example: observe policy suggest --namespace shop --since 1h > shop.yaml
    Suggest(SuggestArgs),
    /// Stage policies: every new connection is decided by them too, beside the enforced
    /// ones, and its flow carries the staged verdict and rule; nothing is enforced.
    ///
    /// Replaces any staged set. `observe flows --staged-verdict DROPPED` then lists what
    /// the change would break; `observe policy promote` applies it.
    ///
    /// Example: observe policy stage -f new-policy.yaml
    Stage(StageArgs),
    /// Drop the staged policies (nothing is applied).
    Unstage,
    /// Apply the staged policies atomically, as `observe apply` would, and unstage them.
    Promote,
}

/// Flags of `observe policy stage`.
#[derive(Args, Debug, Clone)]
pub struct StageArgs {
    /// Policy manifests (CNP, CCNP, KNP): a file, a directory or `-` for stdin.
    /// Repeatable. Example: -f new-policy.yaml
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<String>,
}

/// Flags of `observe policy suggest`.
#[derive(Args, Debug, Clone)]
pub struct SuggestArgs {
    /// The namespace whose pods the policies select.
    #[arg(short = 'n', long)]
    pub namespace: String,
    /// Only flows since then (a duration or a time). Default: the whole history.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

/// Flags of `observe policy whatif`.
#[derive(Args, Debug, Clone)]
pub struct WhatIfArgs {
    /// Candidate manifest file, directory or `-` for stdin. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Only flows since then: a duration (`1h`, `30m`) or a time, as `observe flows
    /// --since` takes it. Default: the whole history.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// The report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where manifests come from.
#[derive(Args, Debug, Clone)]
pub struct ManifestArgs {
    /// Manifest file, directory (every *.yaml and *.yml in it) or `-` for stdin.
    /// Repeatable. Example: -f examples/ -f extra-policy.yaml
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Cluster name, for the `io.cilium.k8s.policy.cluster` label of pods.
    /// Example: --cluster-name prod
    #[arg(long, default_value = "default", env = "OBSERVE_CLUSTER_NAME")]
    pub cluster_name: String,
}

/// Output format of the policy commands.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

/// `observe policy trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Manifest file, directory or `-`, repeatable. Without -f the trace asks the running
    /// agent (see --server). Example: -f examples/
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<String>,
    /// Cluster name for offline traces. Example: --cluster-name prod
    #[arg(long, default_value = "default", env = "OBSERVE_CLUSTER_NAME")]
    pub cluster_name: String,
    /// Source: `NAMESPACE/POD`, `[NAMESPACE/]KIND/NAME` (deployment, statefulset,
    /// daemonset, replicaset, job, cronjob or pod: a workload's first pod), `node/NAME` or
    /// `node:NAME` (the node's host endpoint under the host firewall) or an IP address.
    /// Example: --from shop/frontend, --from deployment/leia, --from node/worker-1, --from 203.0.113.10
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Destination: `NAMESPACE/POD`, `[NAMESPACE/]KIND/NAME`, `node/NAME` or `node:NAME`, or
    /// an IP address.
    /// Example: --to shop/backend, --to shop/statefulset/db
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// Destination port (TCP, UDP, SCTP). Example: --dport 8080
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub dport: u16,
    /// Protocol: TCP, UDP, SCTP, ICMP, ICMPv6, VRRP or IGMP (the last two have no ports).
    /// Example: --protocol UDP
    #[arg(long, value_name = "PROTO", default_value = "TCP")]
    pub protocol: String,
    /// ICMP type for ICMP/ICMPv6 (default: echo request). Example: --icmp-type 8
    #[arg(long, value_name = "TYPE")]
    pub icmp_type: Option<u8>,
    /// Also explain the reply direction of the connection.
    #[arg(long)]
    pub reply: bool,
    /// The flow's DNS name: an address given with --to is taken as a DNS answer for it
    /// (toFQDNs), and DNS rules on the way (a flow to a DNS server) say whether a query
    /// for it is allowed. Example: --dns-name api.partner.com
    #[arg(long, value_name = "NAME")]
    pub dns_name: Option<String>,
    /// An HTTP request on the flow (TCP): whether the HTTP proxy forwards it, by which
    /// rule.http, or answers 403 and which rule came closest. Example: --http-method GET
    #[arg(long, value_name = "METHOD")]
    pub http_method: Option<String>,
    /// The request's path (with --http-method; default /). Example: --http-path /health
    #[arg(long, value_name = "PATH", requires = "http_method")]
    pub http_path: Option<String>,
    /// A request header, `Name: value` (repeatable; with --http-method).
    /// Example: --http-header 'X-Token: s3cret'
    #[arg(long, value_name = "K:V", requires = "http_method")]
    pub http_header: Vec<String>,
    /// Output format. Example: -o json
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub format: Format,
}

/// `observe policy matrix`.
#[derive(Args, Debug)]
pub struct MatrixArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Ports to check, as PORT/PROTOCOL, comma-separated (default: the ports the policies
    /// mention); 0/VRRP and 0/IGMP for the protocols without ports.
    /// Example: --ports 80/TCP,53/UDP
    #[arg(long, value_delimiter = ',', value_name = "PORT/PROTO")]
    pub ports: Vec<String>,
    /// Output format. Example: -o json
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub format: Format,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_timeout_with_a_leading_space_or_too_many_hours_is_an_error_not_a_panic() {
        for bad in [" 5", "99999999999999999999h"] {
            let err = Cli::try_parse_from(["observe", "status", "--timeout", bad]).unwrap_err();
            assert!(
                err.to_string().contains("invalid duration")
                    || err.to_string().contains("out of range"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn request_timeout_and_config_flags_like_hubbles() {
        let (cli, _) = parse_from(["observe", "status"]).unwrap();
        assert_eq!(
            cli.global.request_timeout,
            std::time::Duration::from_secs(12)
        );
        let (cli, _) = parse_from([
            "observe",
            "status",
            "--request-timeout",
            "0",
            "--config",
            "/x/observe.yaml",
        ])
        .unwrap();
        assert!(cli.global.request_timeout.is_zero());
        assert_eq!(
            cli.global.config.as_deref(),
            Some("/x/observe.yaml".as_ref())
        );
    }

    #[test]
    fn parsing_reads_no_config_file() {
        // Bug 9: a named config file that does not exist is an error of `main`'s, after
        // parsing; parsing itself neither reads it nor exits.
        let parsed = parse_from(["observe", "--config", "/nonexistent/observe.yaml", "status"]);
        assert!(parsed.is_ok());
        let uses = |argv: &[&str]| parse_from(argv).unwrap().0.command.uses_agent();
        assert!(uses(&["observe", "status"]));
        assert!(uses(&["observe", "flows"]));
        assert!(!uses(&["observe", "flows", "--input-file", "f.json"]));
        assert!(!uses(&["observe", "completion", "bash"]));
        assert!(!uses(&["observe", "policy", "validate", "-f", "x.yaml"]));
        assert!(uses(&[
            "observe", "policy", "trace", "--from", "a/b", "--to", "c/d"
        ]));
    }

    #[test]
    fn trace_flags_parse() {
        let cli = Cli::parse_from([
            "observe", "policy", "trace", "-f", "x.yaml", "--from", "a/b", "--to", "c/d",
            "--dport", "80", "-o", "json",
        ]);
        let Command::Policy(PolicyCommand::Trace(t)) = cli.command else {
            panic!()
        };
        assert_eq!((t.dport, t.format), (80, Format::Json));
    }
}
