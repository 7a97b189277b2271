//! The cluster's binaries, built once per machine: the packages needed
//! (apt-get), Debian bookworm's `kubernetes` source package (upstream
//! 1.20.2 with `vendor/`) fetched with `apt-get source` and verified (the
//! `.dsc` against apt's signed Sources index, the tarballs against the
//! `.dsc`), patched for this machine, built with Debian's Go 1.19 into
//! `CACHE_DIR/<version>-<sha256 of the orig tarball, 16 hex>/bin/`, and
//! a static `pause` imported into Docker as the pod sandbox image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

use super::{CACHE_DIR, checked, tail};

/// What the cluster needs at run time.
/// (dockershim's port-forward runs `socat` on the host.)
const RUN_PACKAGES: [&str; 4] = ["etcd-server", "curl", "openssl", "socat"];

/// What building needs: the source package's Build-Depends (Go as Debian's
/// 1.19, which builds 1.20 in GOPATH mode), dpkg-source, a C compiler with
/// a static libc for `pause`, and reflect2 1.0.2 (see [`REFLECT2`]).
const BUILD_PACKAGES: [&str; 8] = [
    "golang-1.19-go",
    "jq",
    "rsync",
    "make",
    "dpkg-dev",
    "gcc",
    "libc6-dev",
    "golang-github-modern-go-reflect2-dev",
];

/// Debian's Go 1.19 toolchain, put first on PATH for the build.
const GO_BIN: &str = "/usr/lib/go-1.19/bin";

/// Debian's modern-go/reflect2 (1.0.2), swapped over the vendored 1.0.1,
/// which reads Go runtime internals that changed in Go 1.18.
const REFLECT2: &str = "/usr/share/gocode/src/github.com/modern-go/reflect2/";

/// What `make` builds (cmd/ paths) and the cache must hold.
const COMPONENTS: [&str; 4] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
];

/// The two constants patched to 0: this machine refuses negative
/// `oom_score_adj` (runc fails with "can't get final child's PID from
/// pipe: EOF"), and dockershim gives every pod sandbox -998.
const PATCHES: [(&str, &str, &str); 2] = [
    (
        "pkg/kubelet/dockershim/docker_sandbox.go",
        "defaultSandboxOOMAdj int = -998",
        "defaultSandboxOOMAdj int = 0",
    ),
    (
        "pkg/kubelet/qos/policy.go",
        "guaranteedOOMScoreAdj int = -997",
        "guaranteedOOMScoreAdj int = 0",
    ),
];

/// Bumped whenever the way the cache is built changes: a cache entry built
/// by another recipe is rebuilt.
const RECIPE: &str = "testbed-k8s recipe 1: oom-adj 0, reflect2 1.0.2, go 1.19, static pause\n";

/// The pod sandbox image the kubelet is told to use (never pulled).
const PAUSE_IMAGE: &str = "testbed/k8s-pause:3.4";

/// A verified cache entry's `bin/` directory.
pub(crate) struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// apt-get, with `apt-get update` at most once per run.
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn update(&mut self) -> anyhow::Result<()> {
        if !self.updated {
            println!("k8s: apt-get update");
            checked(Command::new("apt-get").args(["update", "-q"]))?;
            self.updated = true;
        }
        Ok(())
    }

    fn install(&mut self, packages: &[&str]) -> anyhow::Result<()> {
        let missing: Vec<&str> = packages
            .iter()
            .copied()
            .filter(|package| !installed(package))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        self.update()?;
        println!("k8s: apt-get install {}", missing.join(" "));
        checked(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    }
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| out.stdout.ends_with(b"install ok installed"))
}

/// The source package as apt's (signed) Sources index describes it.
struct Source {
    version: String,
    /// `(sha256, file name)` of the `.dsc` and the tarballs.
    files: Vec<(String, String)>,
}

impl Source {
    fn orig_sha256(&self) -> anyhow::Result<&str> {
        self.files
            .iter()
            .find(|(_, name)| name.contains(".orig.tar."))
            .map(|(sha, _)| sha.as_str())
            .context("the kubernetes source package lists no orig tarball")
    }
}

/// The `Checksums-Sha256` lines of a Sources stanza or a `.dsc`.
fn checksums(text: &str) -> Vec<(String, String)> {
    text.lines()
        .skip_while(|line| !line.starts_with("Checksums-Sha256:"))
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                [sha, _size, name] => Some((sha.to_owned(), name.to_owned())),
                _ => None,
            }
        })
        .collect()
}

fn show_source() -> Option<Source> {
    let out = Command::new("apt-cache")
        .args(["showsrc", "--only-source", "kubernetes"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The first stanza is the candidate `apt-get source` picks.
    let stanza = text.split("\n\n").next()?;
    let version = stanza
        .lines()
        .find_map(|line| line.strip_prefix("Version: "))?
        .trim()
        .to_owned();
    let files = checksums(stanza);
    (!files.is_empty()).then_some(Source { version, files })
}

/// Add a `deb-src` line for bookworm when apt knows no kubernetes source.
fn ensure_source_index(apt: &mut Apt) -> anyhow::Result<Source> {
    if let Some(source) = show_source() {
        return Ok(source);
    }
    apt.update()?;
    if let Some(source) = show_source() {
        return Ok(source);
    }
    let list = "/etc/apt/sources.list.d/testbed-k8s-src.sources";
    println!("k8s: adding Debian bookworm's source index ({list})");
    std::fs::write(
        list,
        "# Added by `cargo xtask k8s up`: the kubernetes source package.\n\
         Types: deb-src\n\
         URIs: http://deb.debian.org/debian\n\
         Suites: bookworm\n\
         Components: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    )?;
    checked(Command::new("apt-get").args(["update", "-q"]))?;
    show_source()
        .context("apt still knows no `kubernetes` source package after adding a deb-src line")
}

/// The verified cache entry for the current source package, built first if
/// it is missing or incomplete. Installs the run-time packages too.
pub(crate) fn ensure_binaries() -> anyhow::Result<Binaries> {
    let mut apt = Apt::default();
    apt.install(&RUN_PACKAGES)?;
    let source = ensure_source_index(&mut apt)?;
    let sha = source.orig_sha256()?;
    let entry = PathBuf::from(CACHE_DIR).join(format!("{}-{}", source.version, &sha[..16]));
    let bin = entry.join("bin");
    let recipe_ok = std::fs::read_to_string(entry.join("recipe")).is_ok_and(|r| r == RECIPE);
    if recipe_ok && bin.join("SHA256SUMS").exists() {
        checked(
            Command::new("sha256sum")
                .args(["--check", "--quiet", "SHA256SUMS"])
                .current_dir(&bin),
        )
        .with_context(|| format!("the cache {} is damaged: delete it", entry.display()))?;
        println!("k8s: binaries from the cache {} (verified)", bin.display());
        return Ok(Binaries { dir: bin });
    }
    apt.install(&BUILD_PACKAGES)?;
    build(&source, &entry)?;
    Ok(Binaries { dir: bin })
}

/// sha256 of a file, through coreutils (fast, unlike a debug build).
fn sha256(path: &Path) -> anyhow::Result<String> {
    let out = Command::new("sha256sum").arg(path).output()?;
    if !out.status.success() {
        bail!("sha256sum {} failed", path.display());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

fn verify(dir: &Path, expected: &[(String, String)], against: &str) -> anyhow::Result<()> {
    for (sha, name) in expected {
        let actual = sha256(&dir.join(name))?;
        if &actual != sha {
            bail!("{name}: sha256 {actual}, but {sha} is expected: refusing to build it");
        }
        println!(
            "k8s: verified {name} against {against} (sha256 {})",
            &sha[..16]
        );
    }
    Ok(())
}

fn build(source: &Source, entry: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let src = entry.join("src");
    let work = entry.join("work");
    for dir in [&src, &work, &entry.join("bin"), &entry.join("bin.partial")] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
    }
    std::fs::create_dir_all(&src)?;
    println!(
        "k8s: fetching the kubernetes {} source package",
        source.version
    );
    checked(
        Command::new("apt-get")
            .args(["source", "--download-only", "-q"])
            .arg(format!("kubernetes={}", source.version))
            .current_dir(&src),
    )?;
    // The .dsc against apt's signed index, then the tarballs against it.
    let dsc_name = source
        .files
        .iter()
        .find(|(_, name)| name.ends_with(".dsc"))
        .map(|(_, name)| name.clone())
        .context("the source index lists no .dsc")?;
    verify(&src, &source.files, "apt's Sources index")?;
    let dsc = std::fs::read_to_string(src.join(&dsc_name))?;
    let from_dsc = checksums(&dsc);
    if from_dsc.is_empty() {
        bail!("{dsc_name} has no Checksums-Sha256");
    }
    verify(&src, &from_dsc, &dsc_name)?;
    // Upstream tree plus Debian's patches (dpkg-source checks sizes and
    // checksums again).
    checked(
        Command::new("dpkg-source")
            .arg("-x")
            .arg(src.join(&dsc_name))
            .arg(&work),
    )?;
    for (file, from, to) in PATCHES {
        let path = work.join(file);
        let text = std::fs::read_to_string(&path)?;
        if text.matches(from).count() != 1 {
            bail!("{file}: expected `{from}` once, the source changed: update PATCHES");
        }
        std::fs::write(&path, text.replace(from, to))?;
        println!("k8s: patched {file}: {to}");
    }
    checked(
        Command::new("rsync")
            .args(["-a", "--delete", REFLECT2])
            .arg(work.join("vendor/github.com/modern-go/reflect2/")),
    )?;
    let log = entry.join("build.log");
    println!(
        "k8s: building {} with Go 1.19 (about 5 minutes on 2 cores; log {})",
        COMPONENTS.join(", "),
        log.display()
    );
    let what: Vec<String> = COMPONENTS.iter().map(|c| format!("cmd/{c}")).collect();
    let path = format!("{GO_BIN}:{}", std::env::var("PATH").unwrap_or_default());
    let log_file = std::fs::File::create(&log)?;
    let status = Command::new("make")
        .arg(format!("WHAT={}", what.join(" ")))
        .current_dir(&work)
        .env("PATH", path)
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOCACHE", work.join(".gocache"))
        .env("KUBE_GIT_VERSION", "v1.20.2")
        .env("KUBE_GIT_TREE_STATE", "clean")
        .env("KUBE_GIT_MAJOR", "1")
        .env("KUBE_GIT_MINOR", "20")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()?;
    if !status.success() {
        bail!(
            "building kubernetes failed ({status}); the end of {}:\n{}",
            log.display(),
            tail(&log, 40)
        );
    }
    let partial = entry.join("bin.partial");
    std::fs::create_dir_all(&partial)?;
    for component in COMPONENTS {
        std::fs::copy(
            work.join("_output/bin").join(component),
            partial.join(component),
        )
        .with_context(|| format!("make built no {component}"))?;
    }
    // The pod sandbox: upstream's pause.c, static (the image holds nothing
    // else).
    checked(
        Command::new("gcc")
            .args([
                "-Os",
                "-Wall",
                "-Werror",
                "-static",
                "-DVERSION=v3.4-testbed",
                "-o",
            ])
            .arg(partial.join("pause"))
            .arg(work.join("build/pause/linux/pause.c")),
    )?;
    checked(
        Command::new("sh")
            .args(["-c", "sha256sum kube* pause > SHA256SUMS"])
            .current_dir(&partial),
    )?;
    std::fs::rename(&partial, entry.join("bin"))?;
    std::fs::write(entry.join("recipe"), RECIPE)?;
    std::fs::remove_dir_all(&work)?;
    println!(
        "k8s: built and cached in {} ({:.0} s)",
        entry.join("bin").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Import the static `pause` as the sandbox image (a `FROM scratch` image
/// through the engine's API, as `cargo xtask image` does), unless the
/// engine already has it from the same binary.
pub(crate) fn ensure_pause_image(bin: &Binaries) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let built = runtime.block_on(async {
        let docker = deployer_compose::connect(None).await?;
        deployer_compose::image::ImageBuilder::new(bin.path("pause"), PAUSE_IMAGE)
            .build(&docker)
            .await
    })?;
    if !built.reused {
        println!("k8s: imported the pod sandbox image {}", built.tag);
    }
    Ok(built.tag)
}
