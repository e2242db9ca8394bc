//! One nodelet process of a test cluster: a real node, or many hollow ones.

#[derive(Clone, Debug, Default)]
pub struct NodeletSpec {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub args: Vec<String>,
    /// Registered (its token is in the token file) but not started with the cluster: the
    /// test starts it with `start_component("nodelet-<name>")`, as a node that joins later.
    pub later: bool,
    /// More than 0: this many hollow nodes ([`NodeletSpec::hollow`]).
    pub hollow: usize,
}

impl NodeletSpec {
    pub fn new(name: &str) -> NodeletSpec {
        NodeletSpec {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> NodeletSpec {
        self.labels.push((key.into(), value.into()));
        self
    }

    pub fn arg(mut self, arg: &str) -> NodeletSpec {
        self.args.push(arg.into());
        self
    }

    /// `count` hollow nodes `<prefix>-0`.. in one nodelet process on the fake runtime
    /// (`--hollow-nodes`), named `nodelet-<prefix>`. They share the admin token, as
    /// kubemark's hollow nodes share one kubeconfig.
    pub fn hollow(prefix: &str, count: usize) -> NodeletSpec {
        NodeletSpec {
            name: prefix.into(),
            hollow: count,
            ..Default::default()
        }
        .arg("--runtime")
        .arg("fake")
        .arg("--hollow-nodes")
        .arg(&count.to_string())
        .arg("--node-name-prefix")
        .arg(&format!("{prefix}-"))
    }

    /// The Nodes this nodelet registers.
    pub fn node_names(&self) -> Vec<String> {
        if self.hollow == 0 {
            return vec![self.name.clone()];
        }
        (0..self.hollow)
            .map(|i| format!("{}-{i}", self.name))
            .collect()
    }

    /// The token it runs with: its own node's, or the admin's for hollow nodes.
    pub fn token(&self) -> String {
        if self.hollow == 0 {
            super::node_token(&self.name)
        } else {
            super::ADMIN_TOKEN.to_string()
        }
    }

    /// Joins later (see [`NodeletSpec::later`]).
    pub fn later(mut self) -> NodeletSpec {
        self.later = true;
        self
    }
}
