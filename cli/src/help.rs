//! The examples every `--help` ends with.

pub const ROOT: &str = "\
Examples:
  # Start a local cluster, look at it, stop it
  skiff up
  skiff get nodes
  skiff down

  # Run the book's examples
  skiff create -f fixtures/seed/pod-kubia-unhealthy.yaml
  skiff describe pod kubia-liveness

  # Watch it think: who wrote what, and one pod's causal timeline
  skiff history pod/kubia-liveness
  skiff trace pod/kubia-liveness

Configuration: --config FILE, else $SKIFF_CONFIG, else ~/.skiff/config (written by `skiff up`).";

pub const UP: &str = "\
Examples:
  # Start 3 store members, an apiserver, a controller-manager, a scheduler and 2 nodes
  skiff up

  # Three nodes, state in a directory of your choice
  skiff up --dir /tmp/skiff --nodes 3

The component binaries (skiff-store, skiff-apiserver, skiff-controller-manager, skiff-scheduler,
skiff-nodelet) are taken from the directory of the skiff executable: build them with
`cargo build --bins` (or `cargo build --release --bins`).

Dead nodes are noticed fast: nodes heartbeat every 1s, a node silent for 4s is NotReady
(--node-monitor-grace-period 4s) and its pods are deleted 2s later (--pod-eviction-timeout 2s),
so controllers replace them elsewhere within seconds.

A supervisor process starts again any component that exits (1s later, doubling up to 30s for
one that keeps exiting); it logs to DIR/logs/supervisor.log, and `skiff status` counts the
restarts. If the supervisor itself was killed, `skiff up` starts it again.";

pub const DOWN: &str = "\
Examples:
  # Stop the supervisor, then every process `skiff up` started; the data stays for the next `skiff up`
  skiff down

  # Stop and delete the data too
  skiff down --purge";

pub const STATUS: &str = "\
Examples:
  # Store members (leader, raft term and index), apiservers, leader leases, nodes, and the
  # processes of a `skiff up` cluster (PID, state, restarts by the supervisor)
  skiff status";

pub const CREATE: &str = "\
Examples:
  # Create a pod from a file
  skiff create -f fixtures/seed/pod-liveness-http.yaml

  # Create everything in a directory
  skiff create -f fixtures/seed/

  # Create from stdin
  cat rc.yaml | skiff create -f -";

pub const APPLY: &str = "\
Examples:
  # Create the replication controller, or update it to match the file
  skiff apply -f fixtures/seed/rc-crane.yaml

  # Apply every manifest in a directory
  skiff apply -f fixtures/seed/";

pub const GET: &str = "\
Examples:
  # List pods, with their IP and node
  skiff get pods -o wide

  # Several kinds at once, and the usual workload kinds
  skiff get rc,rs
  skiff get all

  # Pods with a label, with their labels shown
  skiff get po -l app=crane --show-labels

  # One object as YAML; names only
  skiff get rc crane -o yaml
  skiff get pods -o name

  # Watch pods change
  skiff get pods -w

  # Everything in every namespace
  skiff get pods -A";

pub const DESCRIBE: &str = "\
Examples:
  # Describe a pod: containers, probes, restarts, events
  skiff describe pod kubia-liveness

  # Describe every pod whose name starts with crane
  skiff describe pods crane

  # Describe a node, a replication controller, a job
  skiff describe node node-1
  skiff describe rc crane
  skiff describe job/batch-job";

pub const DELETE: &str = "\
Examples:
  # Delete a pod (waits until it is gone)
  skiff delete pod kubia-liveness

  # Delete a replication controller but keep its pods
  skiff delete rc crane --cascade=orphan

  # Delete pods by label, or all pods
  skiff delete po -l app=crane
  skiff delete po --all

  # Delete what a file describes
  skiff delete -f fixtures/seed/rc-crane.yaml";

pub const LABEL: &str = "\
Examples:
  # Add a label
  skiff label pod kubia-manual creation_method=manual

  # Change an existing label
  skiff label pod kubia-manual env=debug --overwrite

  # Remove a label
  skiff label pod kubia-manual env-

  # Label a node
  skiff label node node-2 disk=ssd";

pub const SCALE: &str = "\
Examples:
  # Scale a replication controller to 10 replicas
  skiff scale rc crane --replicas=10

  # Only if it has 3 now
  skiff scale rs crane --current-replicas=3 --replicas=5

  # Run 3 pods of a job at once
  skiff scale job multi-completion-batch-job --replicas 3";

pub const EDIT: &str = "\
Examples:
  # Edit a replication controller in $KUBE_EDITOR, $EDITOR or vi
  skiff edit rc crane

  # Edit as JSON
  KUBE_EDITOR=nano skiff edit rs/crane -o json

An invalid result is reopened with the error at the top; saving it unchanged gives up.";

pub const LOGS: &str = "\
Examples:
  # The current container's log
  skiff logs kubia-liveness

  # Why the previous instance died
  skiff logs kubia-liveness --previous

  # Follow the last 10 lines of one container
  skiff logs -f --tail 10 mypod -c main";

pub const VERSION: &str = "\
Examples:
  skiff version
  skiff version --client";

pub const COMPLETION: &str = "\
Examples:
  # bash, for this shell
  source <(skiff completion bash)

  # zsh
  skiff completion zsh > \"${fpath[1]}/_skiff\"

  # fish
  skiff completion fish > ~/.config/fish/completions/skiff.fish";

pub const EXEC: &str = "Examples:
  # The hostname of pod kubia (its name, in its own UTS namespace)
  skiff exec kubia -- cat /etc/hostname

  # Pipe stdin into a command inside container main of pod web
  echo hello | skiff exec -i web -c main -- cat

The command's exit code becomes skiff's own. -t is accepted, but no terminal is allocated.";
pub const HISTORY: &str = "Examples:
  # Every revision of a pod still in the store's history: revision, time, writer, changed fields
  skiff history pod/web-x7k2p

  # The replication controller as it was at revision 1234
  skiff history rc/web --revision 1234 -o yaml
";

pub const TRACE: &str = "Examples:
  # Created, scheduled (and why there), started, probes failed, killed, restarted...
  skiff trace pod/kubia-unhealthy

  # A replication controller and every pod it made
  skiff trace rc/kubia
";

pub const DASHBOARD: &str = "Examples:
  # The cluster `skiff up` started, at http://127.0.0.1:8001/
  skiff dashboard

  # Any free port (the address is printed), store members named explicitly
  skiff dashboard --listen 127.0.0.1:0 --store-endpoints https://127.0.0.1:2379,https://127.0.0.1:2479
";
