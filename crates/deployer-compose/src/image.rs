//! Images without a registry: [`ImageBuilder`] turns a built binary into an
//! image through the engine's build API, `FROM scratch` with a root
//! filesystem of exactly the binary, its ELF interpreter and the shared
//! libraries it links (found with `lddtree`), so nothing is ever pulled.
//!
//! `cargo xtask image` uses it for demo-node; a downstream team uses it the
//! same way for its own node binary:
//!
//! ```no_run
//! # async fn example() -> Result<(), deployer_compose::Error> {
//! use deployer_compose::image::ImageBuilder;
//!
//! let docker = deployer_compose::connect(None).await?;
//! let built = ImageBuilder::new("target/debug/my-node", "my-team/my-node:dev")
//!     .build(&docker)
//!     .await?;
//! println!("{} ({})", built.tag, if built.reused { "unchanged" } else { "built" });
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, engine};

/// The label that records the SHA-256 of the binary an image was built from.
pub const BINARY_DIGEST_LABEL: &str = "dev.testbed.binary-sha256";

/// Where the binary goes inside the image (and the image's entrypoint).
const BIN_DIR: &str = "usr/local/bin";

/// Builds an image holding one binary and what it needs to run.
#[derive(Clone, Debug)]
pub struct ImageBuilder {
    binary: PathBuf,
    tag: String,
    labels: BTreeMap<String, String>,
}

/// An image that is in the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// Its tag.
    pub tag: String,
    /// Whether an image of the same binary was already there (nothing built).
    pub reused: bool,
    /// The files the image holds, as paths inside it.
    pub files: Vec<String>,
}

impl ImageBuilder {
    /// An image tagged `tag` holding `binary` as its entrypoint.
    pub fn new(binary: impl Into<PathBuf>, tag: impl Into<String>) -> Self {
        Self {
            binary: binary.into(),
            tag: tag.into(),
            labels: BTreeMap::new(),
        }
    }

    /// Add a label to the image.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    fn binary_name(&self) -> Result<String> {
        self.binary
            .file_name()
            .and_then(|name| name.to_str())
            .map(str::to_owned)
            .ok_or_else(|| self.failed(format!("{} has no file name", self.binary.display())))
    }

    fn failed(&self, reason: impl Into<String>) -> Error {
        Error::ImageBuild {
            tag: self.tag.clone(),
            reason: reason.into(),
        }
    }

    /// The files of the root filesystem: `(path inside the image, file on
    /// this machine)`: the binary, its interpreter and its libraries.
    pub fn root_files(&self) -> Result<Vec<(String, PathBuf)>> {
        let name = self.binary_name()?;
        let tree = lddtree::DependencyAnalyzer::new(PathBuf::from("/"))
            .analyze(&self.binary)
            .map_err(|e| self.failed(format!("cannot read {}: {e}", self.binary.display())))?;
        let mut files = vec![(format!("{BIN_DIR}/{name}"), self.binary.clone())];
        if let Some(interpreter) = &tree.interpreter {
            files.push((relative(Path::new(interpreter)), PathBuf::from(interpreter)));
        }
        let mut missing = Vec::new();
        for (soname, library) in &tree.libraries {
            match &library.realpath {
                Some(real) => files.push((relative(&library.path), real.clone())),
                None => missing.push(soname.clone()),
            }
        }
        if !missing.is_empty() {
            missing.sort();
            return Err(self.failed(format!(
                "{} links libraries this machine lacks: {}",
                self.binary.display(),
                missing.join(", ")
            )));
        }
        files.sort();
        files.dedup_by(|a, b| a.0 == b.0);
        Ok(files)
    }

    /// The build context: a Dockerfile `FROM scratch` and the root filesystem.
    pub fn context(&self) -> Result<Vec<u8>> {
        let name = self.binary_name()?;
        let dockerfile =
            format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/{BIN_DIR}/{name}\"]\n");
        let mut archive = tar::Builder::new(Vec::new());
        // The engine's tar reader rejects GNU sparse entries.
        archive.sparse(false);
        let mut header = tar::Header::new_gnu();
        header.set_size(dockerfile.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let io_failed = |e: std::io::Error| self.failed(format!("writing the build context: {e}"));
        archive
            .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
            .map_err(io_failed)?;
        let mut tmp = tar::Header::new_gnu();
        tmp.set_entry_type(tar::EntryType::Directory);
        tmp.set_mode(0o1777);
        tmp.set_size(0);
        tmp.set_cksum();
        archive
            .append_data(&mut tmp, "rootfs/tmp", std::io::empty())
            .map_err(io_failed)?;
        for (inside, source) in self.root_files()? {
            archive
                .append_path_with_name(&source, format!("rootfs/{inside}"))
                .map_err(io_failed)?;
        }
        archive.into_inner().map_err(io_failed)
    }

    /// Build the image, unless the engine already has one of this tag built
    /// from the same binary.
    pub async fn build(&self, docker: &Docker) -> Result<BuiltImage> {
        let binary = std::fs::read(&self.binary)
            .map_err(|e| self.failed(format!("cannot read {}: {e}", self.binary.display())))?;
        let digest = hex::encode(Sha256::digest(&binary));
        drop(binary);
        let files = self
            .root_files()?
            .into_iter()
            .map(|(inside, _)| inside)
            .collect();
        if let Ok(existing) = docker.inspect_image(&self.tag).await {
            let same = existing
                .config
                .and_then(|config| config.labels)
                .and_then(|labels| labels.get(BINARY_DIGEST_LABEL).cloned())
                == Some(digest.clone());
            if same {
                return Ok(BuiltImage {
                    tag: self.tag.clone(),
                    reused: true,
                    files,
                });
            }
        }
        let mut labels: HashMap<String, String> = self.labels.clone().into_iter().collect();
        labels.insert(BINARY_DIGEST_LABEL.to_owned(), digest);
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(&self.tag)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .build();
        let context = bytes::Bytes::from(self.context()?);
        let mut progress = docker.build_image(options, None, Some(bollard::body_full(context)));
        while let Some(step) = progress.next().await {
            let step = step.map_err(engine(format!("build image {}", self.tag)))?;
            if let Some(detail) = step.error_detail {
                return Err(self.failed(detail.message.unwrap_or_default()));
            }
        }
        Ok(BuiltImage {
            tag: self.tag.clone(),
            reused: false,
            files,
        })
    }
}

/// `/lib/x.so` → `lib/x.so`.
fn relative(path: &Path) -> String {
    path.to_string_lossy().trim_start_matches('/').to_owned()
}

/// Whether the engine has the image `reference`.
pub async fn image_exists(docker: &Docker, reference: &str) -> Result<bool> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(source) => Err(engine(format!("inspect image {reference}"))(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_filesystem_holds_the_binary_its_interpreter_and_libraries() {
        let me = std::env::current_exe().unwrap();
        let files = ImageBuilder::new(&me, "t:1").root_files().unwrap();
        let inside: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
        let name = me.file_name().unwrap().to_str().unwrap();
        assert!(inside.contains(&format!("usr/local/bin/{name}").as_str()));
        assert!(inside.iter().any(|p| p.contains("ld-linux")), "{inside:?}");
        assert!(inside.iter().any(|p| p.contains("libc.so")), "{inside:?}");
    }

    #[test]
    fn the_context_is_a_tar_with_a_scratch_dockerfile() {
        let me = std::env::current_exe().unwrap();
        let context = ImageBuilder::new(&me, "t:1").context().unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name == "Dockerfile" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
                assert!(text.starts_with("FROM scratch\n"), "{text}");
            }
            names.push(name);
        }
        assert!(names.contains(&"Dockerfile".to_owned()));
        assert!(names.iter().any(|n| n.starts_with("rootfs/usr/local/bin/")));
    }

    #[test]
    fn a_missing_binary_is_named() {
        let error = ImageBuilder::new("/nonexistent/node", "t:1")
            .root_files()
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/node"), "{error}");
    }
}
