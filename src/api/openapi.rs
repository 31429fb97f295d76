//! The OpenAPI 3 description served at `/api/v1/openapi.json`.
//!
//! Written by hand next to the route table; a unit test holds the two together (every
//! route described, nothing described that is not routed) and an integration test calls
//! every described path on a real server.

use serde_json::{json, Value};

fn param(name: &str, location: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": location, "required": location == "path", "description": description, "schema": schema})
}

fn id() -> Value {
    param(
        "id",
        "path",
        "The run's id.",
        json!({"type": "integer", "minimum": 1}),
    )
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn errors(mut responses: Value) -> Value {
    let common = [
        (
            "304",
            json!({"description": "Not modified (If-None-Match matched the ETag)."}),
        ),
        ("400", problem("Bad input; `field` names it.")),
        ("401", problem("No key, or a wrong key.")),
        ("403", problem("A foreign Origin.")),
        (
            "421",
            problem("A Host that is not this server's loopback name and port."),
        ),
        (
            "429",
            problem("Too many wrong keys from this client; see Retry-After."),
        ),
    ];
    if let Some(map) = responses.as_object_mut() {
        for (code, value) in common {
            map.entry(code).or_insert(value);
        }
    }
    responses
}

fn events_get(summary: &str, with_id: bool) -> Value {
    let mut parameters = vec![
        param(
            "after",
            "query",
            "Only events with a larger id (the cursor; next_after of the previous page).",
            json!({"type": "integer", "minimum": 0, "default": 0}),
        ),
        param(
            "limit",
            "query",
            "Page size.",
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 200}),
        ),
        param(
            "wait",
            "query",
            "Seconds to wait for a newer event when there is none yet (long poll).",
            json!({"type": "integer", "minimum": 0, "maximum": 25, "default": 0}),
        ),
    ];
    if with_id {
        parameters.insert(0, id());
    }
    json!({"get": {"summary": summary, "security": [{"bearer": []}], "parameters": parameters,
        "responses": errors(json!({"200": ok("Events in id order.", "EventPage"), "404": problem("No such run.")}))}})
}

fn control(action: &str) -> Value {
    json!({"post": {
        "summary": format!("Ask a live run to {action} (it acts within about 250 ms)."),
        "security": [{"bearer": []}],
        "parameters": [id(), param("Idempotency-Key", "header", "Repeat a request safely: the same key returns the first answer.", json!({"type": "string", "maxLength": 200}))],
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ControlBody"}}}},
        "responses": errors(json!({
            "202": ok("Accepted; event_id is the control event recorded for the request.", "ControlAccepted"),
            "404": problem("No such run."),
            "409": problem("The run has ended, or cannot be reached (lost)."),
            "413": problem("Body over 64 KiB."),
            "415": problem("A body that is not application/json."),
            "422": problem("The Idempotency-Key was used for another request."),
            "504": problem("The run did not answer in time.")
        }))
    }})
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "FlowForge local API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Runs, events, samples, metrics and control of live runs. Loopback only; every path but /healthz needs `Authorization: Bearer <key>` (`flowforge key` prints where the key is). Errors are RFC 7807 problem+json."
        },
        "servers": [{"url": "http://127.0.0.1:7171"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "field": {"type": "string"}}},
                "Run": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "argv": {"type": "array", "items": {"type": "string"}},
                    "cwd": {"type": "string"}, "started_at_ms": {"type": "integer"}, "started_at": {"type": "string"},
                    "ended_at_ms": {"type": "integer", "nullable": true}, "ended_at": {"type": "string", "nullable": true},
                    "duration_ms": {"type": "integer", "nullable": true}, "pid": {"type": "integer", "nullable": true},
                    "mode": {"type": "string"}, "exit_code": {"type": "integer", "nullable": true},
                    "outcome": {"type": "string", "nullable": true}, "flowforge_version": {"type": "string"},
                    "state": {"type": "string", "enum": ["running", "ended", "lost"]},
                    "reason": {"type": "string", "nullable": true, "description": "the latest decision's or alert's message"},
                    "restarts": {"type": "integer", "description": "restarts FlowForge made of the command"}}},
                "RunPage": {"type": "object", "properties": {
                    "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                    "next_before": {"type": "integer", "nullable": true, "description": "Pass as ?before= for the next (older) page; null on the last page."}}},
                "RunOne": {"type": "object", "properties": {"run": {"$ref": "#/components/schemas/Run"}}},
                "Event": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "run_id": {"type": "integer"}, "at_ms": {"type": "integer"}, "at": {"type": "string"},
                    "category": {"type": "string"}, "kind": {"type": "string"}, "actor": {"type": "string"},
                    "message": {"type": "string"}, "payload": {"type": "object"}}},
                "EventPage": {"type": "object", "properties": {
                    "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                    "next_after": {"type": "integer"}}},
                "Sample": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "at_ms": {"type": "integer"}, "cpu_percent": {"type": "number"},
                    "rss_bytes": {"type": "integer"}, "processes": {"type": "integer"}, "stdout_bytes": {"type": "integer"},
                    "stderr_bytes": {"type": "integer"}, "lines": {"type": "integer"}}},
                "SamplePage": {"type": "object", "properties": {
                    "samples": {"type": "array", "items": {"$ref": "#/components/schemas/Sample"}},
                    "next_after": {"type": "integer"}}},
                "ControlBody": {"type": "object", "additionalProperties": false, "properties": {"reason": {"type": "string", "maxLength": 200}}},
                "ControlAccepted": {"type": "object", "properties": {
                    "run_id": {"type": "integer"}, "action": {"type": "string"}, "event_id": {"type": "integer"},
                    "status": {"type": "string"}, "events": {"type": "string"}}},
                "Health": {"type": "object", "properties": {"status": {"type": "string"}}}
            }
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness; no key, no data.", "responses": {"200": ok("Serving.", "Health")}}},
            "/metrics": {"get": {"summary": "Prometheus text exposition 0.0.4.", "security": [{"bearer": []}],
                "responses": errors(json!({"200": {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}}}))}},
            "/api/v1/openapi.json": {"get": {"summary": "This document.", "security": [{"bearer": []}],
                "responses": errors(json!({"200": {"description": "OpenAPI 3.", "content": {"application/json": {"schema": {"type": "object"}}}}}))}},
            "/api/v1/runs": {"get": {"summary": "Runs, newest first, cursor-paged.", "security": [{"bearer": []}],
                "parameters": [
                    param("limit", "query", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 50})),
                    param("before", "query", "Only runs with a smaller id (next_before of the previous page).", json!({"type": "integer", "minimum": 1})),
                    param("state", "query", "running, ended or lost.", json!({"type": "string", "enum": ["running", "ended", "lost"]})),
                    param("outcome", "query", "exited, signalled, stopped, timeout, interrupted, ...", json!({"type": "string"}))
                ],
                "responses": errors(json!({"200": ok("A page of runs.", "RunPage")}))}},
            "/api/v1/runs/{id}": {"get": {"summary": "One run.", "security": [{"bearer": []}], "parameters": [id()],
                "responses": errors(json!({"200": ok("The run.", "RunOne"), "404": problem("No such run.")}))}},
            "/api/v1/runs/{id}/events": events_get("The events of one run.", true),
            "/api/v1/events": events_get("The events of every run.", false),
            "/api/v1/runs/{id}/samples": {"get": {"summary": "The samples of one run (CPU, RSS, processes, output per tick).", "security": [{"bearer": []}],
                "parameters": [id(),
                    param("after", "query", "Only samples with a larger id.", json!({"type": "integer", "minimum": 0})),
                    param("limit", "query", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}))],
                "responses": errors(json!({"200": ok("Samples in time order.", "SamplePage"), "404": problem("No such run.")}))}},
            "/api/v1/runs/{id}/kill": control("stop (exit 124)"),
            "/api/v1/runs/{id}/restart": control("restart")
        }
    })
}
