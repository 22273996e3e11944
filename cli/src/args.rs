//! Command-line arguments (clap derive): parsing and validation of what the user typed,
//! nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Policy-aware network flow visibility: trace, validate and observe Cilium network
/// policies.
#[derive(Parser, Debug)]
#[command(name = "observe", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with network policies: trace a flow, print the reachability matrix, validate
    /// manifests.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `observe policy ...`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Would this flow be allowed, and by which rule?
    ///
    /// Explains both directions like `cilium policy trace`: which policies select the
    /// source for egress and the destination for ingress, which rule allowed or denied the
    /// flow, or that none matched under default deny, then the final verdict.
    ///
    /// Example: observe policy trace -f examples/ --from shop/frontend --to shop/backend --dport 8080
    Trace(TraceArgs),
    /// Print who can reach whom, per port, like the Kubernetes e2e truth tables.
    ///
    /// Example: observe policy matrix -f examples/ --ports 8080/TCP,53/UDP
    Matrix(MatrixArgs),
    /// Check manifests without applying them: exit 0 with a summary, or exit 1 listing
    /// every error with its file, document, object, field path and value.
    ///
    /// Example: observe policy validate -f policies/
    Validate(ManifestArgs),
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
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Source: `NAMESPACE/POD`, `node/NAME` or an IP address.
    /// Example: --from shop/frontend, --from node/worker-1, --from 203.0.113.10
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Destination: `NAMESPACE/POD`, `node/NAME` or an IP address.
    /// Example: --to shop/backend
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// Destination port (TCP, UDP, SCTP). Example: --dport 8080
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub dport: u16,
    /// Protocol: TCP, UDP, SCTP, ICMP or ICMPv6. Example: --protocol UDP
    #[arg(long, value_name = "PROTO", default_value = "TCP")]
    pub protocol: String,
    /// ICMP type for ICMP/ICMPv6 (default: echo request). Example: --icmp-type 8
    #[arg(long, value_name = "TYPE")]
    pub icmp_type: Option<u8>,
    /// Also explain the reply direction of the connection.
    #[arg(long)]
    pub reply: bool,
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
    /// mention). Example: --ports 80/TCP,53/UDP
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
