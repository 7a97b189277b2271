//! The docker-compose file written into a run's artifacts: the same images,
//! commands, environment, labels, published ports and volumes as the run,
//! so a person can bring the topology up by hand. Peers address each other
//! by service name there: the network plane's switch (or the fallback's
//! link proxies) exists only while testbed runs.
//!
//! Every scalar is written as a double-quoted YAML string (JSON string
//! syntax is valid YAML), so no value can change the document's shape.

use std::fmt::Write as _;
use std::path::Path;

use scenario_core::PortSpec;

use crate::error::{Result, io};
use crate::plan::{DATA_DIR, NodePlan, port_key};

/// The file's name in the run's artifact directory.
pub const COMPOSE_FILE: &str = "docker-compose.yml";

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The file's text. Launch files are written under `files/<node>/` beside
/// it and mounted read-only into the data directory.
pub(crate) fn render(run_id: &str, plans: &[NodePlan], ports: &[PortSpec]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Written by testbed for run {run_id}.");
    let _ = writeln!(
        out,
        "# The same topology by hand: docker-compose -p <project> -f {COMPOSE_FILE} up"
    );
    let _ = writeln!(
        out,
        "# Peers reach each other by service name here; during the run their traffic"
    );
    let _ = writeln!(
        out,
        "# crossed testbed's network plane (or its link proxies), where it injected faults."
    );
    out.push_str("services:\n");
    for plan in plans {
        let id = plan.slot.id.as_str();
        let _ = writeln!(out, "  {}:", quoted(id));
        let _ = writeln!(out, "    image: {}", quoted(&plan.image));
        let _ = writeln!(out, "    hostname: {}", quoted(id));
        let command: Vec<String> = plan.compose_spec.args.iter().map(|a| quoted(a)).collect();
        let _ = writeln!(out, "    command: [{}]", command.join(", "));
        if !plan.compose_spec.env.is_empty() {
            out.push_str("    environment:\n");
            for (name, value) in &plan.compose_spec.env {
                let _ = writeln!(out, "      {}: {}", quoted(name), quoted(value));
            }
        }
        out.push_str("    labels:\n");
        let _ = writeln!(out, "      \"dev.testbed.node\": {}", quoted(id));
        let _ = writeln!(
            out,
            "      \"dev.testbed.role\": {}",
            quoted(plan.slot.role.as_str())
        );
        out.push_str("    ports:\n");
        for port in ports {
            let _ = writeln!(
                out,
                "      - {}",
                quoted(&format!("127.0.0.1::{}", port_key(port)))
            );
        }
        out.push_str("    volumes:\n");
        let _ = writeln!(out, "      - {}", quoted(&format!("{id}-data:{DATA_DIR}")));
        for file in &plan.compose_spec.files {
            let _ = writeln!(
                out,
                "      - {}",
                quoted(&format!(
                    "./files/{id}/{}:{DATA_DIR}/{}:ro",
                    file.path, file.path
                ))
            );
        }
        out.push_str("    networks: [\"testbed\"]\n");
    }
    out.push_str("networks:\n  \"testbed\": {}\nvolumes:\n");
    for plan in plans {
        let _ = writeln!(out, "  {}: {{}}", quoted(&format!("{}-data", plan.slot.id)));
    }
    out
}

/// Write the file and its launch files into `dir`.
pub(crate) fn write(
    dir: &Path,
    run_id: &str,
    plans: &[NodePlan],
    ports: &[PortSpec],
) -> Result<()> {
    for plan in plans {
        for file in &plan.compose_spec.files {
            let path = dir
                .join("files")
                .join(plan.slot.id.as_str())
                .join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("create {}", parent.display())))?;
            }
            std::fs::write(&path, &file.contents)
                .map_err(io(format!("write {}", path.display())))?;
        }
    }
    let path = dir.join(COMPOSE_FILE);
    std::fs::write(&path, render(run_id, plans, ports))
        .map_err(io(format!("write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario_core::{LaunchSpec, Topology};

    #[test]
    fn every_node_is_a_service_with_its_command_ports_and_volume() {
        let slot = Topology::new().validators(1).slots().remove(0);
        let spec = LaunchSpec::image_only("node:dev")
            .arg("--peer=validator-1:9000")
            .arg("say \"hi\"")
            .env("RUST_LOG", "info")
            .file("config.json", "{}");
        let plan = NodePlan {
            slot,
            spec: spec.clone(),
            compose_spec: spec,
            image: "node:dev".to_owned(),
        };
        let text = render("smoke-1", &[plan], &[PortSpec::api("api", 8080)]);
        assert!(
            text.contains("  \"validator-0\":\n    image: \"node:dev\"\n"),
            "{text}"
        );
        assert!(
            text.contains(r#"command: ["--peer=validator-1:9000", "say \"hi\""]"#),
            "{text}"
        );
        assert!(text.contains("\"RUST_LOG\": \"info\""), "{text}");
        assert!(text.contains("- \"127.0.0.1::8080/tcp\""), "{text}");
        assert!(text.contains("- \"validator-0-data:/data\""), "{text}");
        assert!(
            text.contains("- \"./files/validator-0/config.json:/data/config.json:ro\""),
            "{text}"
        );
        assert!(
            text.ends_with("volumes:\n  \"validator-0-data\": {}\n"),
            "{text}"
        );
    }
}
