//! Command-line flags and subcommands (kubectl's names), with examples in every `--help`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use skiff_common::duration::parse_duration;

use crate::help;

#[derive(Parser, Debug)]
#[command(
    name = "skiff",
    version,
    about = "skiff controls a skiff cluster, with kubectl's verbs and flags",
    after_help = help::ROOT,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Client config file (default: $SKIFF_CONFIG, else ~/.skiff/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Apiserver address(es), host:port, comma-separated; overrides the config file.
    #[arg(long, short = 's', global = true, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// Bearer token; overrides the config file.
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// The cluster CA (PEM file) the apiserver's certificate must be signed by; overrides the
    /// config file's `certificate-authority` / `certificate-authority-data`.
    #[arg(long, global = true, value_name = "FILE")]
    pub certificate_authority: Option<PathBuf>,
    /// The namespace for this request.
    #[arg(long, short = 'n', global = true)]
    pub namespace: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a local cluster of real processes (store x3, apiserver, controller-manager, scheduler, nodelets).
    #[command(after_help = help::UP)]
    Up(UpArgs),
    /// Stop the local cluster `skiff up` started.
    #[command(after_help = help::DOWN)]
    Down(DownArgs),
    /// Show the health of the cluster: store members, apiservers, leaders, nodes.
    #[command(after_help = help::STATUS)]
    Status(StatusArgs),
    /// Create resources from files or stdin.
    #[command(after_help = help::CREATE)]
    Create(FileArgs),
    /// Create or update resources from files or stdin.
    #[command(after_help = help::APPLY)]
    Apply(FileArgs),
    /// Display one or many resources.
    #[command(after_help = help::GET)]
    Get(GetArgs),
    /// Show details of a specific resource or group of resources.
    #[command(after_help = help::DESCRIBE)]
    Describe(DescribeArgs),
    /// Delete resources by file names, stdin, names, or label selectors.
    #[command(after_help = help::DELETE)]
    Delete(DeleteArgs),
    /// Update the labels on a resource.
    #[command(after_help = help::LABEL)]
    Label(LabelArgs),
    /// Set a new size for a replication controller, replica set or job.
    #[command(after_help = help::SCALE)]
    Scale(ScaleArgs),
    /// Edit a resource with your editor.
    #[command(after_help = help::EDIT)]
    Edit(EditArgs),
    /// Print the logs for a container in a pod.
    #[command(after_help = help::LOGS)]
    Logs(LogsArgs),
    /// Execute a command in a container.
    #[command(after_help = help::EXEC)]
    Exec(ExecArgs),
    /// Show an object's revisions from the store: who wrote each, when, and what changed.
    #[command(after_help = help::HISTORY)]
    History(HistoryArgs),
    /// Show one causal timeline of a pod (or a controller and its pods): writes, events,
    /// probe results, with millisecond offsets.
    #[command(after_help = help::TRACE)]
    Trace(TraceArgs),
    /// Serve a live web page of the cluster: store members, leases, nodes and their pods,
    /// controllers, events; click an object for its trace and history.
    #[command(after_help = help::DASHBOARD)]
    Dashboard(crate::dashboard::DashboardArgs),
    /// Print the client version and the apiserver it reaches.
    #[command(after_help = help::VERSION)]
    Version(VersionArgs),
    /// Output shell completion code for bash, zsh or fish.
    #[command(after_help = help::COMPLETION)]
    Completion(CompletionArgs),
    /// Make a cluster CA (kept if DIR has one) and every certificate of a cluster (`skiff up`'s layout), as PEM files in DIR.
    Certs(CertsArgs),
    /// Internal: start a component in a session of its own (used by `skiff up`).
    #[command(name = "__spawn", hide = true)]
    Spawn(SpawnArgs),
    /// Internal: start again the components of a `skiff up` cluster that exit (started by `skiff up`).
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
}

#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    /// Where the cluster keeps its state, logs, data, tokens and client config.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// How many nodelets (nodes) to start; the first is labelled disk=ssd.
    #[arg(long, default_value_t = 2)]
    pub nodes: usize,
    /// How long to wait for every component to become healthy.
    #[arg(long, default_value = "90s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Pod sandboxes: namespaces (each pod a container on its node's bridge, needs root),
    /// none (plain processes on loopback IPs), or auto (namespaces when root).
    #[arg(long, default_value = "auto", value_parser = ["auto", "namespaces", "none"])]
    pub sandbox: String,
    /// Plain text on every port, no certificates (to watch the wire with tcpdump); by default
    /// every port runs TLS with client certificates from a CA made in DIR/pki.
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DownArgs {
    /// The directory given to `skiff up`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Also delete the cluster's data, logs, tokens and config.
    #[arg(long)]
    pub purge: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CertsArgs {
    /// Where to write ca.crt, ca.key and one NAME.crt/NAME.key pair per holder (keys 0600).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Further names and addresses every serving certificate holds, comma-separated (beside
    /// its holder's own name, localhost and 127.0.0.1): the apiservers' host names, the store
    /// members' IP addresses (their peer URLs name them).
    #[arg(long, value_delimiter = ',', required = true, value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Store member names (store-NAME-server and store-NAME-peer certificates).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub store_members: Vec<String>,
    /// Node names (nodelet-NAME certificates for their log service).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub nodes: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// Store members' client URLs (default: from the config file).
    #[arg(long, value_delimiter = ',', value_name = "URL")]
    pub store_endpoints: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct FileArgs {
    /// File, directory or `-` (stdin) with the resources; may be repeated.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub filenames: Vec<String>,
}

/// `-o` formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Wide,
    Yaml,
    Json,
    Name,
}

#[derive(Args, Debug, Clone)]
pub struct GetArgs {
    /// TYPE[,TYPE...] [NAME...], or TYPE/NAME...; `all` for the workload kinds.
    pub resources: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
    /// Label selector (`app=crane`, `env in (prod,dev)`, `!gpu`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Field selector (`spec.nodeName=node-1`).
    #[arg(long)]
    pub field_selector: Option<String>,
    /// After listing, watch for changes and print them.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Only watch: print changes, not the current list.
    #[arg(long)]
    pub watch_only: bool,
    /// Add a LABELS column.
    #[arg(long)]
    pub show_labels: bool,
    /// Keep metadata.managedFields (who wrote the object) in -o yaml / -o json, as kubectl's
    /// flag does; left out otherwise.
    #[arg(long)]
    pub show_managed_fields: bool,
    /// Accepted for compatibility: finished pods are always shown.
    #[arg(short = 'a', long)]
    pub show_all: bool,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Print no header line.
    #[arg(long)]
    pub no_headers: bool,
    /// Print nothing (and succeed) when a named object does not exist.
    #[arg(long)]
    pub ignore_not_found: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DescribeArgs {
    /// TYPE [NAME_PREFIX...], or TYPE/NAME...
    pub resources: Vec<String>,
    /// Label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Describe across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Describe the resources in these files.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct DeleteArgs {
    /// TYPE NAME..., or TYPE/NAME...
    pub resources: Vec<String>,
    /// Delete the resources in these files.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
    /// Delete the objects matching this label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete every object of the type in the namespace.
    #[arg(long)]
    pub all: bool,
    /// background, orphan or foreground (`false` is the old spelling of orphan).
    #[arg(long, num_args = 0..=1, default_value = "background", default_missing_value = "background", require_equals = true)]
    pub cascade: String,
    /// Seconds the pods get to stop (-1: their own setting; 0 with --force: at once).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Stop pods at once (a grace period of 1 second).
    #[arg(long)]
    pub now: bool,
    /// Accepted with --grace-period=0, as kubectl wants it.
    #[arg(long)]
    pub force: bool,
    /// Wait until the objects are gone before returning.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub wait: bool,
    /// Give up waiting after this long (0: wait as long as it takes).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Succeed when an object named does not exist.
    #[arg(long)]
    pub ignore_not_found: bool,
}

#[derive(Args, Debug, Clone)]
pub struct LabelArgs {
    /// TYPE NAME... KEY=VAL... KEY-..., or TYPE/NAME KEY=VAL...
    #[arg(required = true)]
    pub args: Vec<String>,
    /// Allow changing a label that already has a value.
    #[arg(long)]
    pub overwrite: bool,
    /// Label the objects matching this selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Label every object of the type in the namespace.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ScaleArgs {
    /// rc|rs|job NAME, or TYPE/NAME.
    #[arg(required = true)]
    pub resources: Vec<String>,
    /// The new number of replicas (parallelism for a job).
    #[arg(long, required = true)]
    pub replicas: i32,
    /// Scale only if the current size is this (precondition).
    #[arg(long)]
    pub current_replicas: Option<i32>,
}

#[derive(Args, Debug, Clone)]
pub struct EditArgs {
    /// TYPE NAME, or TYPE/NAME.
    #[arg(required = true)]
    pub resources: Vec<String>,
    /// Edit as yaml or json.
    #[arg(short = 'o', long, default_value = "yaml")]
    pub output: String,
}

#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    /// The object: KIND/NAME (`pod/web-x7k2p`, `rc/web`) or KIND.
    pub resource: String,
    /// The name, when the kind was given alone.
    pub name: Option<String>,
    /// Show the object as it was at this revision instead of the list.
    #[arg(long)]
    pub revision: Option<i64>,
    /// With --revision: yaml (default) or json.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// The object: pod/NAME, or rc, rs, ds, job or cj/NAME (their pods are followed).
    pub resource: String,
    /// The name, when the kind was given alone.
    pub name: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// The pod (NAME or pod/NAME).
    pub pod: String,
    /// The container (required when the pod has several).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// The previous instance of the container (after a restart).
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Keep streaming new lines.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Each line after the RFC 3339 time it was written.
    #[arg(long)]
    pub timestamps: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ExecArgs {
    /// The pod (NAME or pod/NAME).
    pub pod: String,
    /// The container (required when the pod has several).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Stdin is a terminal (accepted for kubectl's habit; no terminal is allocated).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VersionArgs {
    /// Only the client version; do not contact the apiserver.
    #[arg(long)]
    pub client: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug, Clone)]
pub struct CompletionArgs {
    pub shell: Shell,
}

#[derive(Args, Debug, Clone)]
pub struct SpawnArgs {
    /// The program and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct SuperviseArgs {
    /// The cluster's directory (absolute), as `skiff up` made it.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn kubectl_spellings_parse() {
        let cli = Cli::try_parse_from([
            "skiff",
            "-n",
            "x",
            "delete",
            "rc",
            "crane",
            "--cascade=false",
            "--wait=false",
        ])
        .unwrap();
        match cli.command {
            Command::Delete(d) => {
                assert_eq!(d.cascade, "false");
                assert!(!d.wait);
                assert_eq!(d.resources, ["rc", "crane"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cli.global.namespace.as_deref(), Some("x"));
        let cli = Cli::try_parse_from([
            "skiff",
            "get",
            "po",
            "-o",
            "wide",
            "--show-labels",
            "-A",
            "-w",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Get(GetArgs {
                output: Some(Output::Wide),
                show_labels: true,
                all_namespaces: true,
                watch: true,
                ..
            })
        ));
        assert!(Cli::try_parse_from(["skiff", "get", "po", "-o", "xml"]).is_err());
        let cli = Cli::try_parse_from([
            "skiff",
            "scale",
            "rc",
            "crane",
            "--replicas=10",
            "--current-replicas",
            "3",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Scale(ScaleArgs {
                replicas: 10,
                current_replicas: Some(3),
                ..
            })
        ));
        let cli = Cli::try_parse_from(["skiff", "__spawn", "prog", "--flag", "x"]).unwrap();
        assert!(
            matches!(cli.command, Command::Spawn(SpawnArgs { ref command }) if command == &["prog", "--flag", "x"])
        );
    }
}
