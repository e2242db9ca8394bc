//! The operations of each kind at kubectl's paths, with the extensions kubectl reads: which
//! kind an operation is about (`x-kubernetes-group-version-kind`) and the `fieldValidation`
//! parameter of its PATCH, whose presence makes kubectl validate on the server.

use serde_json::{json, Map, Value};

use super::schemas::{k8s_name, Flavour};
use crate::kinds::KindInfo;

/// `CoreV1`, `AppsV1beta2`, `CoordinationV1`: the group-version part of operation ids.
fn gv_id(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let first = group.split('.').next().unwrap_or(group);
    let mut out = String::new();
    for part in [first, version] {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

struct Param {
    name: &'static str,
    location: &'static str,
    kind: &'static str,
    description: &'static str,
}

const fn query(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "query",
        kind,
        description,
    }
}

const PRETTY: Param = query(
    "pretty",
    "string",
    "If 'true', then the output is pretty printed.",
);
const DRY_RUN: Param = query(
    "dryRun",
    "string",
    "When present, modifications are not persisted.",
);
const FIELD_MANAGER: Param = query(
    "fieldManager",
    "string",
    "A name for the actor making these changes.",
);
const FIELD_VALIDATION: Param = query(
    "fieldValidation",
    "string",
    "Ignore, Warn or Strict: what to do with unknown or duplicate fields. skiff always decodes strictly.",
);
const LIST: [Param; 9] = [
    query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels."),
    query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields."),
    query("limit", "integer", "The maximum number of responses to return for a list call."),
    query("continue", "string", "The continue token of the previous page."),
    query("resourceVersion", "string", "Show changes that occur after that particular version of a resource."),
    query("resourceVersionMatch", "string", "How resourceVersion is applied to list calls."),
    query("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
    query("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events."),
    query("timeoutSeconds", "integer", "Timeout for the list/watch call."),
];
const DELETE: [Param; 3] = [
    query(
        "gracePeriodSeconds",
        "integer",
        "The duration in seconds before the object should be deleted.",
    ),
    query(
        "propagationPolicy",
        "string",
        "Orphan, Background or Foreground: whether and how garbage collection will be performed.",
    ),
    DRY_RUN,
];

fn param(p: &Param, flavour: Flavour) -> Value {
    let required = p.location == "path";
    match flavour {
        Flavour::V2 => json!({"name": p.name, "in": p.location, "description": p.description,
                              "required": required, "type": p.kind, "uniqueItems": true}),
        Flavour::V3 => json!({"name": p.name, "in": p.location, "description": p.description,
                              "required": required, "schema": {"type": p.kind, "uniqueItems": true}}),
    }
}

/// One operation. `body` is the request's schema; `patch` marks a PATCH (its body is a patch
/// document in one of three media types).
struct Op<'a> {
    action: &'static str,
    id: String,
    gvk: Value,
    params: Vec<&'a Param>,
    body: Option<Value>,
    patch: bool,
    response: Value,
    tag: String,
}

fn operation(op: Op<'_>, flavour: Flavour) -> Value {
    let mut params: Vec<Value> = op.params.iter().map(|p| param(p, flavour)).collect();
    let patch_types = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ];
    let mut out = json!({
        "operationId": op.id,
        "tags": [op.tag],
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": op.gvk,
    });
    let Value::Object(map) = &mut out else {
        return out;
    };
    match flavour {
        Flavour::V2 => {
            if let Some(body) = op.body {
                let schema = if op.patch {
                    json!({"type": "object"})
                } else {
                    body
                };
                params.push(
                    json!({"name": "body", "in": "body", "required": true, "schema": schema}),
                );
            }
            if op.patch {
                map.insert("consumes".into(), json!(patch_types));
            }
            map.insert(
                "produces".into(),
                json!(["application/json", "application/yaml"]),
            );
            map.insert(
                "responses".into(),
                json!({"200": {"description": "OK", "schema": op.response}, "401": {"description": "Unauthorized"}}),
            );
        }
        Flavour::V3 => {
            if let Some(body) = op.body {
                let mut content = Map::new();
                if op.patch {
                    for t in patch_types {
                        content.insert(t.into(), json!({"schema": {"type": "object"}}));
                    }
                } else {
                    content.insert("application/json".into(), json!({"schema": body}));
                }
                map.insert(
                    "requestBody".into(),
                    json!({"content": content, "required": true}),
                );
            }
            map.insert(
                "responses".into(),
                json!({"200": {"description": "OK", "content": {"application/json": {"schema": op.response}}},
                       "401": {"description": "Unauthorized"}}),
            );
        }
    }
    map.insert("parameters".into(), Value::Array(params));
    out
}

/// The paths of `info` served at `api_version` (`v1`, `apps/v1beta2`).
pub fn kind_paths(info: &KindInfo, api_version: &str, flavour: Flavour) -> Map<String, Value> {
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let group = info.group;
    let served = Some((group, version));
    let reference = |rust: &str| {
        let prefix = match flavour {
            Flavour::V2 => "#/definitions/",
            Flavour::V3 => "#/components/schemas/",
        };
        json!({"$ref": format!("{prefix}{}", k8s_name(rust, served))})
    };
    let object = reference(info.kind);
    let list = json!({"type": "object", "properties": {"items": {"type": "array", "items": object.clone()}}});
    let gvk = json!({"group": group, "version": version, "kind": info.kind});
    let base = if group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{api_version}")
    };
    let gv = gv_id(group, version);
    let scope = if info.namespaced { "Namespaced" } else { "" };
    let collection = if info.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", info.plural)
    } else {
        format!("{base}/{}", info.plural)
    };
    let tag = format!(
        "{}_{version}",
        if group.is_empty() { "core" } else { group }
    );
    let namespace = Param {
        name: "namespace",
        location: "path",
        kind: "string",
        description: "object name and auth scope, such as for teams and projects",
    };
    let name = Param {
        name: "name",
        location: "path",
        kind: "string",
        description: "name of the object",
    };
    let scoped = |extra: Vec<&'static Param>| -> Vec<&Param> {
        let mut all: Vec<&Param> = Vec::new();
        if info.namespaced {
            all.push(&namespace);
        }
        all.extend(extra);
        all
    };
    let op = |action: &'static str,
              verb: &str,
              suffix: &str,
              params: Vec<&'static Param>,
              named: bool| Op {
        action,
        id: format!("{verb}{gv}{scope}{}{suffix}", info.kind),
        gvk: gvk.clone(),
        params: {
            let mut p = scoped(params);
            if named {
                p.insert(p.len().min(usize::from(info.namespaced)), &name);
            }
            p
        },
        body: None,
        patch: false,
        response: object.clone(),
        tag: tag.clone(),
    };
    let mut paths = Map::new();
    let write: Vec<&'static Param> = vec![&PRETTY, &DRY_RUN, &FIELD_MANAGER, &FIELD_VALIDATION];
    let list_params: Vec<&'static Param> = LIST.iter().chain([&PRETTY]).collect();
    let delete_params: Vec<&'static Param> = DELETE.iter().chain([&PRETTY]).collect();

    let mut list_op = op("list", "list", "", list_params.clone(), false);
    list_op.response = list.clone();
    let mut create = op("post", "create", "", write.clone(), false);
    create.body = Some(object.clone());
    let mut delete_all = op(
        "deletecollection",
        "deleteCollection",
        "",
        delete_params.clone(),
        false,
    );
    delete_all.response = list.clone();
    paths.insert(
        collection.clone(),
        json!({"get": operation(list_op, flavour), "post": operation(create, flavour), "delete": operation(delete_all, flavour)}),
    );
    if info.namespaced {
        let mut all = op("list", "list", "ForAllNamespaces", list_params, false);
        all.id = format!("list{gv}{}ForAllNamespaces", info.kind);
        all.params = LIST.iter().chain([&PRETTY]).collect();
        all.response = list;
        paths.insert(
            format!("{base}/{}", info.plural),
            json!({"get": operation(all, flavour)}),
        );
    }
    let item = format!("{collection}/{{name}}");
    let mut subresources: Vec<(&str, &str, Value, Value)> =
        vec![("", "", object.clone(), gvk.clone())];
    if info.has_status {
        subresources.push(("/status", "Status", object.clone(), gvk.clone()));
    }
    if info.has_scale {
        subresources.push((
            "/scale",
            "Scale",
            reference("Scale"),
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
        ));
    }
    for (path, suffix, schema, sub_gvk) in subresources {
        let mut ops = Map::new();
        for (method, action, verb, params) in [
            ("get", "get", "read", vec![&PRETTY]),
            ("put", "put", "replace", write.clone()),
            ("patch", "patch", "patch", write.clone()),
        ] {
            let mut o = op(action, verb, suffix, params, true);
            o.gvk = sub_gvk.clone();
            o.response = schema.clone();
            if method != "get" {
                o.body = Some(schema.clone());
                o.patch = method == "patch";
            }
            ops.insert(method.into(), operation(o, flavour));
        }
        if path.is_empty() {
            let o = op("delete", "delete", "", delete_params.clone(), true);
            ops.insert("delete".into(), operation(o, flavour));
        }
        paths.insert(format!("{item}{path}"), Value::Object(ops));
    }
    paths
}
