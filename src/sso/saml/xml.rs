//! Small helpers over `roxmltree` (read-only, namespace-aware, refuses DTDs — so no entity
//! expansion attacks) and XML escaping for the documents we write.

use roxmltree::{Document, Node, ParsingOptions};

/// Parses a document; DTDs are refused (SAML messages never carry one).
pub fn parse(text: &str) -> Result<Document<'_>, String> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| e.to_string())
}

/// Is `node` the element `{ns}name`?
pub fn is(node: Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

/// The direct children `{ns}name` of `node`.
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, ns, name))
}

/// The first direct child `{ns}name` of `node`.
pub fn child<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> Option<Node<'a, 'i>> {
    children(node, ns, name).next()
}

/// Every element `{ns}name` at or below `node`.
pub fn descendants<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.descendants().filter(move |c| is(*c, ns, name))
}

/// The text of an element: all its descendant text, trimmed. (Comments are refused before
/// anything is read, so a comment cannot split a value.)
pub fn text(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    for d in node.descendants().filter(Node::is_text) {
        out.push_str(d.text().unwrap_or_default());
    }
    out.trim().to_owned()
}

/// Escapes text for an XML attribute value or element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
