//! What a component really imports and exports, read from the component itself (its type, not its claims).

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// One imported or exported item: usually an interface instance (`wasi:io/streams@0.2.12`) with its functions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The full name, with the version when it has one.
    pub name: String,
    /// What it is: `interface`, `function`, `type`, `resource`, `module` or `component`.
    pub kind: &'static str,
    /// For an interface: the names of its functions and types, sorted.
    pub members: Vec<String>,
}

impl Item {
    /// The name without its `@version`.
    pub fn unversioned(&self) -> &str {
        unversioned(&self.name)
    }
}

/// `ns:pkg/iface@1.2.3` → `ns:pkg/iface`.
pub fn unversioned(name: &str) -> &str {
    name.split_once('@').map(|(n, _)| n).unwrap_or(name)
}

/// A component's imports and exports.
#[derive(Debug, Clone, Serialize)]
pub struct Surface {
    /// What it needs from the host, sorted by name.
    pub imports: Vec<Item>,
    /// What it provides, sorted by name.
    pub exports: Vec<Item>,
}

fn item(engine: &Engine, name: &str, ty: &ComponentItem) -> Item {
    let (kind, members) = match ty {
        ComponentItem::ComponentInstance(instance) => {
            let mut members: Vec<String> = instance
                .exports(engine)
                .map(|(n, _)| n.to_string())
                .collect();
            members.sort();
            ("interface", members)
        }
        ComponentItem::ComponentFunc(_) | ComponentItem::CoreFunc(_) => ("function", vec![]),
        ComponentItem::Module(_) => ("module", vec![]),
        ComponentItem::Component(_) => ("component", vec![]),
        ComponentItem::Type(_) => ("type", vec![]),
        ComponentItem::Resource(_) => ("resource", vec![]),
    };
    Item {
        name: name.to_string(),
        kind,
        members,
    }
}

impl Surface {
    /// Reads the imports and exports of a compiled component.
    pub fn of(engine: &Engine, component: &Component) -> Surface {
        let ty = component.component_type();
        let mut imports: Vec<Item> = ty
            .imports(engine)
            .map(|(name, e)| item(engine, name, &e.ty))
            .collect();
        let mut exports: Vec<Item> = ty
            .exports(engine)
            .map(|(name, e)| item(engine, name, &e.ty))
            .collect();
        imports.sort_by(|a, b| a.name.cmp(&b.name));
        exports.sort_by(|a, b| a.name.cmp(&b.name));
        Surface { imports, exports }
    }

    /// The newest version of the contract whose connector interface the component exports, if any.
    pub fn contract(&self) -> Option<crate::bindings::Contract> {
        self.exports
            .iter()
            .filter_map(|e| crate::bindings::Contract::of_export(&e.name))
            .max()
    }
}
