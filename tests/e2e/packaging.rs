//! The files operators install keep what the contract promises: a multi-stage, non-root image
//! checked on `/livez`, a hardened systemd unit, and a compose file with PostgreSQL and two
//! replicas behind a balancer.

fn read(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The lines of `text` that are not comments.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

#[test]
fn the_image_is_built_in_one_stage_and_runs_in_another_as_a_user_checked_on_livez() {
    let dockerfile = read("Dockerfile");
    let lines = lines(&dockerfile);
    let stages = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert_eq!(stages, 2, "{dockerfile}");
    assert!(lines.iter().any(|l| l.starts_with("COPY --from=build")));
    let user = lines.iter().rev().find_map(|l| l.strip_prefix("USER "));
    assert!(
        user.is_some_and(|u| u != "root" && u != "0"),
        "{dockerfile}"
    );
    let health = dockerfile.find("HEALTHCHECK").expect("a HEALTHCHECK");
    assert!(dockerfile[health..].contains("/livez"), "{dockerfile}");
    assert!(
        dockerfile.contains("--locked"),
        "the image builds what Cargo.lock pins"
    );
}

#[test]
fn the_systemd_unit_runs_gonogo_hardened() {
    let unit = read("packaging/gonogo.service");
    let lines = lines(&unit);
    for directive in [
        "DynamicUser=yes",
        "StateDirectory=gonogo",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
    ] {
        assert!(lines.contains(&directive), "no {directive} in the unit");
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("ExecStart=") && l.contains(" run --config ")));
}

#[test]
fn the_compose_file_runs_postgresql_and_two_replicas_behind_a_balancer() {
    let compose = read("packaging/compose.yaml");
    for service in ["  postgres:", "  gonogo-a:", "  gonogo-b:", "  balancer:"] {
        assert!(compose.contains(service), "no {service} in compose.yaml");
    }
    assert!(compose.contains("GONOGO_DATABASE__URL: postgres://"));
    assert!(compose.contains("condition: service_healthy"));
    let nginx = read("packaging/nginx.conf");
    assert!(nginx.contains("server gonogo-a:8080") && nginx.contains("server gonogo-b:8080"));
}
