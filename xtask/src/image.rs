//! `cargo xtask image`: builds demo-node and the Kubernetes fault agent
//! (`testbed-agent`) and their container images (`testbed/demo-node:dev`,
//! `testbed/k8s-agent:dev`) through the Docker engine's API, `FROM scratch`
//! with the binary and the libraries it links; nothing is pulled. Skips a
//! build when the image already holds the same binary.

use crate::ci::cargo;

/// Build the demo-node and agent images from the debug binaries, or the
/// release ones; `tag` names the demo-node image.
pub(crate) fn run(release: bool, tag: Option<String>) -> anyhow::Result<()> {
    let profile = if release { "release" } else { "debug" };
    let mut build = vec!["build", "-p", "demo-node", "-p", "k8s-agent"];
    if release {
        build.push("--release");
    }
    cargo(&build, &[])?;
    let binaries = crate::tidy::workspace_root().join("target").join(profile);
    let images = [
        (
            binaries.join("demo-node"),
            tag.unwrap_or_else(|| demo_node::DEFAULT_IMAGE.to_owned()),
        ),
        (
            binaries.join("testbed-agent"),
            deployer_k8s::DEFAULT_AGENT_IMAGE.to_owned(),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for (binary, tag) in images {
        let built = runtime.block_on(async {
            let docker = deployer_compose::connect(None).await?;
            deployer_compose::image::ImageBuilder::new(&binary, &tag)
                .build(&docker)
                .await
        })?;
        println!(
            "image {}: {} from {} ({} files: {})",
            built.tag,
            if built.reused {
                "already up to date"
            } else {
                "built"
            },
            binary.display(),
            built.files.len(),
            built.files.join(", ")
        );
    }
    Ok(())
}
