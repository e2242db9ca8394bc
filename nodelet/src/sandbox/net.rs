//! The pod network over rtnetlink: the node's bridge, a veth pair per pod, addresses and
//! routes. Nothing shells out to `ip`.
//!
//! A pod is plugged in from a short-lived OS thread that makes its veth pair and then
//! joins its network namespace (`setns` affects only the calling thread) to configure it.

use std::fs::File;
use std::net::Ipv4Addr;

use futures::TryStreamExt;
use nix::sched::{setns, CloneFlags};
use rtnetlink::packet_route::link::{InfoData, InfoVeth, LinkAttribute};
use rtnetlink::{
    new_connection, Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth,
    RouteMessageBuilder,
};

use crate::ipam::Ipv4Cidr;

const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const ESRCH: i32 = 3;

#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct NetError {
    pub what: String,
    pub message: String,
}

fn err(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let what = what.into();
    move |e| NetError {
        what,
        message: e.to_string(),
    }
}

/// The errno of a netlink error answer (positive), if it is one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// A netlink connection in the namespace of the thread that opened it.
#[derive(Clone)]
pub struct Net {
    handle: Handle,
}

impl Net {
    /// Opens a connection; its I/O task runs on the current tokio runtime.
    pub fn connect() -> Result<Net, NetError> {
        let (connection, handle, _) = new_connection().map_err(|e| NetError {
            what: "opening a netlink socket".into(),
            message: e.to_string(),
        })?;
        tokio::spawn(connection);
        Ok(Net { handle })
    }

    pub async fn index(&self, name: &str) -> Result<Option<u32>, NetError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(link) => Ok(link.map(|l| l.header.index)),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
            Err(e) => Err(err(format!("looking up link {name}"))(e)),
        }
    }

    /// The node's bridge with the pods' gateway address, up; created if missing.
    pub async fn ensure_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        prefix: u8,
    ) -> Result<u32, NetError> {
        if self.index(name).await?.is_none() {
            match self
                .handle
                .link()
                .add(LinkBridge::new(name).build())
                .execute()
                .await
            {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(EEXIST) => {}
                Err(e) => return Err(err(format!("creating bridge {name}"))(e)),
            }
        }
        let index = self.index(name).await?.ok_or_else(|| NetError {
            what: format!("bridge {name}"),
            message: "missing right after creation".into(),
        })?;
        self.add_address(index, gateway, prefix, name).await?;
        self.up(index, name).await?;
        Ok(index)
    }

    async fn add_address(
        &self,
        index: u32,
        ip: Ipv4Addr,
        prefix: u8,
        name: &str,
    ) -> Result<(), NetError> {
        match self
            .handle
            .address()
            .add(index, ip.into(), prefix)
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(EEXIST) => Ok(()),
            Err(e) => Err(err(format!("adding {ip}/{prefix} to {name}"))(e)),
        }
    }

    async fn up(&self, index: u32, name: &str) -> Result<(), NetError> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(err(format!("setting {name} up")))
    }

    /// The pod's veth pair in one request: `host` on the node's bridge and up, `peer`
    /// made directly inside the namespace of process `pid`. Link changes all take the
    /// kernel's one rtnl lock, so every request per pod costs every other pod too; creating
    /// the peer in place and attaching the host end at once replaces five requests (create,
    /// look up, move, look up, attach) and the namespace move, the slowest of them.
    async fn add_pod_veth(
        &self,
        host: &str,
        peer: &str,
        bridge: u32,
        pid: u32,
    ) -> Result<(), NetError> {
        let peer_message = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_string())
            .setns_by_pid(pid)
            .append_extra_attribute(LinkAttribute::NumTxQueues(1))
            .append_extra_attribute(LinkAttribute::NumRxQueues(1))
            // Not `.up()`: the kernel refuses to open a veth end before its pair exists
            // (ENOTCONN); the pod's side brings it up.
            .build();
        // One queue each way on both ends, said in the request: without it the kernel makes
        // a queue per CPU and then cuts them to one after registering each end, and each
        // cut waits for an expedited RCU grace period while holding the rtnl lock (seen in
        // the nodelet's kernel stacks: `synchronize_rcu_expedited` under `veth_newlink`),
        // which stalled every other pod's network requests behind it.
        let pair = LinkVeth::new(host, peer)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_message)))
            .append_extra_attribute(LinkAttribute::NumTxQueues(1))
            .append_extra_attribute(LinkAttribute::NumRxQueues(1))
            .controller(bridge)
            .up()
            .build();
        self.handle
            .link()
            .add(pair)
            .execute()
            .await
            .map_err(err(format!(
                "creating veth pair {host} (on the bridge) / {peer} (in the pod)"
            )))
    }

    /// Deletes a link (and so both ends of a veth pair); a missing link is fine.
    pub async fn delete_link(&self, name: &str) -> Result<(), NetError> {
        let Some(index) = self.index(name).await? else {
            return Ok(());
        };
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(()),
            Err(e) => Err(err(format!("deleting {name}"))(e)),
        }
    }

    /// `cidr via gateway` (replaced if a route to `cidr` exists).
    pub async fn replace_route(&self, cidr: Ipv4Cidr, via: Ipv4Addr) -> Result<(), NetError> {
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(cidr.network(), cidr.prefix())
            .gateway(via)
            .build();
        self.handle
            .route()
            .add(route)
            .replace()
            .execute()
            .await
            .map_err(err(format!("adding the route {cidr} via {via}")))
    }

    pub async fn delete_route(&self, cidr: Ipv4Cidr, via: Ipv4Addr) -> Result<(), NetError> {
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(cidr.network(), cidr.prefix())
            .gateway(via)
            .build();
        match self.handle.route().del(route).execute().await {
            Ok(()) => Ok(()),
            Err(e) if matches!(errno(&e), Some(ESRCH) | Some(ENODEV)) => Ok(()),
            Err(e) => Err(err(format!("deleting the route {cidr} via {via}"))(e)),
        }
    }
}

/// What the inside of a pod's network namespace gets.
#[derive(Debug, Clone)]
pub struct PodInterface {
    /// The pod's end of its veth pair, made inside the namespace (`eth0`).
    pub peer: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    /// Reached on-link (the nodes of one host share one layer-2 segment), if set.
    pub on_link: Option<Ipv4Cidr>,
}

/// The host's side of a pod's veth pair: its name and the bridge it joins.
#[derive(Debug, Clone)]
pub struct HostEnd {
    pub name: String,
    pub bridge: u32,
}

/// Plugs the pod whose namespaces process `pid` holds into the node's bridge: creates its
/// veth pair, then configures `lo` and `eth0` inside.
///
/// All of it runs on one short-lived OS thread with its own netlink sockets: the first
/// opened in the node's namespace (a socket stays in the namespace it was made in), the
/// second after the thread joined the pod's (`setns` moves only the calling thread). Each
/// pod's requests then queue only for the kernel's rtnl lock, not also behind every other
/// pod's requests on one shared socket and the nodelet's busy async threads (with a hundred
/// pods starting at once, that queue was most of a sandbox's start).
pub async fn plug_pod(pid: u32, host: HostEnd, iface: PodInterface) -> Result<(), NetError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("pod-netns".into())
        .spawn(move || {
            let _ = tx.send(plug_in_thread(pid, host, iface));
        });
    if let Err(e) = spawned {
        return Err(NetError {
            what: "starting the pod network thread".into(),
            message: e.to_string(),
        });
    }
    rx.await.unwrap_or_else(|_| {
        Err(NetError {
            what: "the pod network thread".into(),
            message: "ended without an answer".into(),
        })
    })
}

fn plug_in_thread(pid: u32, host: HostEnd, iface: PodInterface) -> Result<(), NetError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NetError {
            what: "building the pod network runtime".into(),
            message: e.to_string(),
        })?;
    runtime.block_on(async {
        Net::connect()?
            .add_pod_veth(&host.name, &iface.peer, host.bridge, pid)
            .await
    })?;
    let path = format!("/proc/{pid}/ns/net");
    let file = File::open(&path).map_err(|e| NetError {
        what: format!("opening {path}"),
        message: e.to_string(),
    })?;
    // Only this thread moves; it ends when the work is done.
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| NetError {
        what: format!("setns {path}"),
        message: e.to_string(),
    })?;
    runtime.block_on(configure_inside(iface))
}

/// `lo` and `eth0` of the namespace the calling thread is in.
async fn configure_inside(iface: PodInterface) -> Result<(), NetError> {
    let net = Net::connect()?;
    // Each request here takes the kernel's rtnl lock that every pod shares: lo is
    // always link 1 of a new namespace, and the pod's end arrived named.
    const LOOPBACK_INDEX: u32 = 1;
    net.up(LOOPBACK_INDEX, "lo").await?;
    let eth = net.index(&iface.peer).await?.ok_or_else(|| NetError {
        what: format!("veth {}", iface.peer),
        message: "not in the pod's namespace".into(),
    })?;
    net.add_address(eth, iface.ip, iface.prefix, &iface.peer)
        .await?;
    net.up(eth, &iface.peer).await?;
    if let Some(cidr) = iface.on_link {
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(cidr.network(), cidr.prefix())
            .output_interface(eth)
            .scope(rtnetlink::packet_route::route::RouteScope::Link)
            .build();
        match net.handle.route().add(route).execute().await {
            Ok(()) => {}
            Err(e) if errno(&e) == Some(EEXIST) => {}
            Err(e) => return Err(err(format!("adding the on-link route {cidr}"))(e)),
        }
    }
    let default = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(iface.gateway)
        .build();
    net.handle
        .route()
        .add(default)
        .execute()
        .await
        .map_err(err(format!(
            "adding the default route via {}",
            iface.gateway
        )))
}

impl Net {
    /// A veth pair joining two bridges (`a` a port of bridge `a_bridge`, `b` of `b_bridge`).
    pub async fn add_link_pair(
        &self,
        a: &str,
        a_bridge: u32,
        b: &str,
        b_bridge: u32,
    ) -> Result<(), NetError> {
        match self
            .handle
            .link()
            .add(LinkVeth::new(a, b).build())
            .execute()
            .await
        {
            Ok(()) => {}
            Err(e) if errno(&e) == Some(EEXIST) => {}
            Err(e) => return Err(err(format!("creating veth pair {a}/{b}"))(e)),
        }
        for (name, bridge) in [(a, a_bridge), (b, b_bridge)] {
            let index = self.index(name).await?.ok_or_else(|| NetError {
                what: format!("veth {name}"),
                message: "missing right after creation".into(),
            })?;
            self.handle
                .link()
                .set(
                    LinkUnspec::new_with_index(index)
                        .controller(bridge)
                        .up()
                        .build(),
                )
                .execute()
                .await
                .map_err(err(format!("attaching {name} to its bridge")))?;
        }
        Ok(())
    }
}
