//! Harness for the end-to-end tests: starts real `attribution-node` processes on loopback ports,
//! waits until they answer RPC, and stops them when dropped.
//!
//! The binary is taken from `ATTRIBUTION_NODE` if set, else from the cargo target directory
//! (`CARGO_TARGET_DIR` or `<workspace>/target`), debug profile.

pub mod chain;
pub mod worker;

use anyhow::{anyhow, bail, Context, Result};
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use subxt::{
    rpcs::{rpc_params, RpcClient},
    OnlineClient, SubstrateConfig,
};

/// How long a debug node may take to start answering RPC (it compiles the runtime first).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(240);

/// The well-known libp2p identity of node key `0x…01`, used to make one node a bootnode.
pub const BOOTNODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
pub const BOOTNODE_PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

/// The node binary under test.
pub fn node_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ATTRIBUTION_NODE") {
        return Ok(path.into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug/attribution-node");
    if !path.exists() {
        bail!(
            "{} not found: build it with `cargo build -p attribution-node` or set ATTRIBUTION_NODE",
            path.display()
        );
    }
    Ok(path)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running node; killed (and its temporary base path removed) on drop.
pub struct Node {
    /// `None` for a node this harness attached to but did not start.
    child: Option<Child>,
    /// What it was started with, to start it again.
    args: Vec<String>,
    /// The node's base path and log file live here.
    dir: tempfile::TempDir,
    pub rpc_port: u16,
    pub p2p_port: u16,
    pub prometheus_port: u16,
    /// Where the log of the latest start begins.
    log_start: usize,
}

impl Node {
    /// Starts `attribution-node` with `args` plus fresh loopback ports and a base path (unless
    /// `args` has `--tmp`).
    pub fn start(args: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (rpc_port, p2p_port, prometheus_port) = (free_port()?, free_port()?, free_port()?);
        let mut args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        // `--tmp` makes the node pick its own throw-away base path.
        if !args.iter().any(|arg| arg == "--tmp") {
            let base_path = dir.path().join("db").to_string_lossy().into_owned();
            args.extend(["--base-path".into(), base_path]);
        }
        for (flag, port) in [
            ("--rpc-port", rpc_port),
            ("--port", p2p_port),
            ("--prometheus-port", prometheus_port),
        ] {
            args.extend([flag.into(), port.to_string()]);
        }
        args.extend(["--no-telemetry", "--no-mdns", "--rpc-cors", "all"].map(String::from));
        let child = Some(Self::spawn(&args, &dir)?);
        Ok(Self {
            child,
            args,
            dir,
            rpc_port,
            p2p_port,
            prometheus_port,
            log_start: 0,
        })
    }

    fn spawn(args: &[String], dir: &tempfile::TempDir) -> Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("node.log"))?;
        Command::new(node_binary()?)
            .args(args)
            // At its default level, so the log names the RPC port it serves (`served_rpc_port`).
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting attribution-node")
    }

    /// Stops the process and starts it again with the same base path and ports, as an operator
    /// restarting a node would.
    pub fn restart(&mut self) -> Result<()> {
        let child = self
            .child
            .as_mut()
            .context("a node the harness attached to is not its to restart")?;
        child.kill()?;
        child.wait()?;
        self.log_start = self.log().len();
        self.child = Some(Self::spawn(&self.args, &self.dir)?);
        Ok(())
    }

    /// Kills the process with SIGKILL (`kill -9`: no shutdown, no flush), as a crash or a power
    /// cut would stop it; [`Self::start_again`] starts it on the same database.
    pub fn kill(&mut self) -> Result<()> {
        let child = self
            .child
            .as_mut()
            .context("a node the harness attached to is not its to kill")?;
        // `Child::kill` sends SIGKILL on Unix.
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Starts a node stopped with [`Self::kill`] again, with the same arguments, base path and
    /// ports.
    pub fn start_again(&mut self) -> Result<()> {
        if self.is_running() {
            bail!("the node still runs");
        }
        self.log_start = self.log().len();
        self.child = Some(Self::spawn(&self.args, &self.dir)?);
        Ok(())
    }

    /// A node someone else runs, answering RPC on loopback `rpc_port` (the demo's dev chain).
    pub fn attach(rpc_port: u16) -> Result<Self> {
        Ok(Self {
            child: None,
            args: vec![],
            dir: tempfile::tempdir()?,
            rpc_port,
            p2p_port: 0,
            prometheus_port: 0,
            log_start: 0,
        })
    }

    /// The node's WebSocket/HTTP RPC endpoint.
    pub fn rpc_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// The multiaddress other nodes can use to reach this one, if it runs with [`BOOTNODE_KEY`].
    pub fn bootnode_address(&self) -> String {
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{BOOTNODE_PEER_ID}",
            self.p2p_port
        )
    }

    /// The node's base path (its database and content store live under it).
    pub fn base_path(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// The node's whole log (every start of it), empty if it cannot be read.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    /// The last lines of the node's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<_> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// A raw JSON-RPC client, once the node answers `system_health`.
    pub async fn rpc(&mut self) -> Result<RpcClient> {
        let started = Instant::now();
        loop {
            if !self.is_running() {
                bail!("the node exited during startup:\n{}", self.log_tail());
            }
            // A node whose RPC port was taken (by another test's node, between `free_port` and
            // its start) serves on another one and says so in its log: connect only once the
            // log names the port, so as never to talk to someone else's node.
            if self.child.is_some() {
                match self.served_rpc_port() {
                    Some(port) => self.rpc_port = port,
                    None => {
                        if started.elapsed() > STARTUP_TIMEOUT {
                            bail!(
                                "the node did not start its RPC server within {STARTUP_TIMEOUT:?}:\n{}",
                                self.log_tail()
                            );
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
            }
            if let Ok(client) = RpcClient::from_insecure_url(self.rpc_url()).await {
                if client
                    .request::<serde_json::Value>("system_health", rpc_params![])
                    .await
                    .is_ok()
                {
                    return Ok(client);
                }
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "the node did not answer RPC within {STARTUP_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The loopback port the latest start's RPC server listens on, once its log says so
    /// (`Running JSON-RPC server: addr=127.0.0.1:PORT,...`).
    fn served_rpc_port(&self) -> Option<u16> {
        const LINE: &str = "Running JSON-RPC server: addr=127.0.0.1:";
        let log = self.log();
        let since = log.get(self.log_start..)?;
        let at = since.rfind(LINE)? + LINE.len();
        let digits: String = since[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    }

    /// A subxt client, once the node answers RPC.
    pub async fn client(&mut self) -> Result<(RpcClient, OnlineClient<SubstrateConfig>)> {
        let rpc = self.rpc().await?;
        let client = OnlineClient::from_rpc_client(rpc.clone()).await?;
        Ok((rpc, client))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The number of the latest finalized block.
pub async fn finalized_number(rpc: &RpcClient) -> Result<u64> {
    let hash: String = rpc.request("chain_getFinalizedHead", rpc_params![]).await?;
    let header: serde_json::Value = rpc.request("chain_getHeader", rpc_params![hash]).await?;
    let number = header["number"]
        .as_str()
        .ok_or_else(|| anyhow!("header without number: {header}"))?;
    Ok(u64::from_str_radix(number.trim_start_matches("0x"), 16)?)
}

/// Waits until the finalized block number reaches `target`.
pub async fn wait_finalized(rpc: &RpcClient, target: u64, timeout: Duration) -> Result<u64> {
    let started = Instant::now();
    loop {
        let number = finalized_number(rpc).await?;
        if number >= target {
            return Ok(number);
        }
        if started.elapsed() > timeout {
            bail!("finalized block stayed at #{number}, wanted #{target} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The hash of block `number` on the node's best chain.
pub async fn block_hash(rpc: &RpcClient, number: u64) -> Result<String> {
    rpc.request::<Option<String>>("chain_getBlockHash", rpc_params![number])
        .await?
        .ok_or_else(|| anyhow!("no block #{number}"))
}
