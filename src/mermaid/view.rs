//! Borrowed views of node mentions and links, the hot part of a flowchart.
//!
//! `parse_flowchart` streams these straight from the parser into the FlowDB
//! replay without building the AST: a 10,000-edge chart would otherwise
//! allocate and free a quarter of a million strings it never needs. The AST
//! path (`parse_document`, then `Flowchart::from_document`) converts to and
//! from these views, so both paths share one implementation of the grammar
//! and one of the semantics.

use super::ast::{self, BracketShape, EdgeLabelForm};
use super::diagnostics::Span;
use super::flow::{Arrow, LabelType, Stroke};
use std::borrow::Cow;

/// A borrowed piece of text with its span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdV<'a> {
    /// The text (preprocessed; equal to the source for ids).
    pub text: &'a str,
    /// Where it is in the source.
    pub span: Span,
}

/// A label: kind and FlowDB text (owned only when entities were decoded or
/// pieces concatenated).
#[derive(Debug, Clone)]
pub(crate) struct LabelV<'a> {
    /// The label as written, quotes included.
    pub span: Span,
    /// Text, string or markdown.
    pub kind: LabelType,
    /// What the FlowDB receives (untrimmed).
    pub text: Cow<'a, str>,
}

/// A bracket shape with its label.
#[derive(Debug, Clone)]
pub(crate) struct ShapeV<'a> {
    /// From the opening to the closing bracket.
    pub span: Span,
    /// Which brackets.
    pub kind: BracketShape,
    /// The label between them.
    pub label: LabelV<'a>,
    /// `[|key:value|…]` (rare: boxed, so a node mention stays small to move).
    pub props: Option<Box<(IdV<'a>, IdV<'a>)>>,
}

/// An `@{ … }` block.
#[derive(Debug, Clone)]
pub(crate) struct MetaV<'a> {
    /// From `@{` to `}`.
    pub span: Span,
    /// The source between `@{` and `}`.
    pub raw: &'a str,
    /// What mermaid's YAML loader receives.
    pub body: Cow<'a, str>,
}

/// One node mention.
#[derive(Debug, Clone)]
pub(crate) struct NodeV<'a> {
    /// The whole mention.
    pub span: Span,
    /// The id.
    pub id: IdV<'a>,
    /// Brackets and label.
    pub shape: Option<ShapeV<'a>>,
    /// `:::class`.
    pub class: Option<IdV<'a>>,
    /// `@{ … }`.
    pub meta: Option<MetaV<'a>>,
}

/// One link.
#[derive(Debug, Clone)]
pub(crate) struct LinkV<'a> {
    /// From the edge id (or arrow) to the end of the label/arrow.
    pub span: Span,
    /// `e1@`, without `@`.
    pub id: Option<IdV<'a>>,
    /// The opening token of an inline label.
    pub start: Option<IdV<'a>>,
    /// The arrow token, trimmed.
    pub arrow: IdV<'a>,
    /// The label and its form.
    pub label: Option<(EdgeLabelForm, LabelV<'a>)>,
    /// Line style.
    pub stroke: Stroke,
    /// Source-end marker.
    pub arrow_start: Arrow,
    /// Target-end marker.
    pub arrow_end: Arrow,
    /// Length before mermaid's cap of 10.
    pub length: usize,
    /// mermaid's edge type.
    pub edge_type: &'static str,
}

/// A whole chain statement: groups are `nodes[from..to]` ranges, `links[i]`
/// joins group `i` to group `i + 1`.
pub(crate) struct ChainV<'a, 'b> {
    /// The whole statement.
    pub span: Span,
    /// Every node mention, in order.
    pub nodes: &'b [NodeV<'a>],
    /// `&` groups as ranges of `nodes`.
    pub groups: &'b [(usize, usize)],
    /// The links between consecutive groups.
    pub links: &'b [LinkV<'a>],
}

fn slice(src: &str, span: Span) -> String {
    src.get(span.start..span.end)
        .unwrap_or_default()
        .to_string()
}

fn ident(id: &IdV<'_>) -> ast::Ident {
    ast::Ident {
        span: id.span,
        text: id.text.to_string(),
    }
}

fn id_view(id: &ast::Ident) -> IdV<'_> {
    IdV {
        text: &id.text,
        span: id.span,
    }
}

impl LabelV<'_> {
    /// The AST label (`raw` sliced from the original source).
    pub fn to_ast(&self, src: &str) -> ast::Label {
        ast::Label {
            span: self.span,
            kind: self.kind,
            raw: slice(src, self.span),
            text: self.text.to_string(),
        }
    }
}

impl<'a> LabelV<'a> {
    /// A view of an AST label.
    pub fn of(label: &'a ast::Label) -> Self {
        LabelV {
            span: label.span,
            kind: label.kind,
            text: Cow::Borrowed(&label.text),
        }
    }
}

impl<'a> NodeV<'a> {
    /// The AST node reference.
    pub fn to_ast(&self, src: &str) -> ast::NodeRef {
        ast::NodeRef {
            span: self.span,
            id: ident(&self.id),
            shape: self.shape.as_ref().map(|s| ast::NodeShape {
                span: s.span,
                kind: s.kind,
                label: s.label.to_ast(src),
                props: s.props.as_deref().map(|(k, v)| ast::RectProps {
                    key: ident(k),
                    value: ident(v),
                }),
            }),
            class: self.class.as_ref().map(ident),
            metadata: self.meta.as_ref().map(|m| ast::ShapeData {
                span: m.span,
                raw: m.raw.to_string(),
                body: m.body.to_string(),
            }),
        }
    }

    /// A view of an AST node reference.
    pub fn of(n: &'a ast::NodeRef) -> Self {
        NodeV {
            span: n.span,
            id: id_view(&n.id),
            shape: n.shape.as_ref().map(|s| ShapeV {
                span: s.span,
                kind: s.kind,
                label: LabelV::of(&s.label),
                props: s
                    .props
                    .as_ref()
                    .map(|p| Box::new((id_view(&p.key), id_view(&p.value)))),
            }),
            class: n.class.as_ref().map(id_view),
            meta: n.metadata.as_ref().map(|m| MetaV {
                span: m.span,
                raw: &m.raw,
                body: Cow::Borrowed(&m.body),
            }),
        }
    }
}

impl<'a> LinkV<'a> {
    /// The AST link.
    pub fn to_ast(&self, src: &str) -> ast::Link {
        ast::Link {
            span: self.span,
            id: self.id.as_ref().map(ident),
            start: self.start.as_ref().map(ident),
            arrow: ident(&self.arrow),
            label: self.label.as_ref().map(|(form, l)| ast::EdgeLabel {
                form: *form,
                label: l.to_ast(src),
            }),
            stroke: self.stroke,
            arrow_start: self.arrow_start,
            arrow_end: self.arrow_end,
            length: self.length,
            edge_type: self.edge_type.to_string(),
        }
    }

    /// A view of an AST link.
    pub fn of(l: &'a ast::Link) -> Self {
        LinkV {
            span: l.span,
            id: l.id.as_ref().map(id_view),
            start: l.start.as_ref().map(id_view),
            arrow: id_view(&l.arrow),
            label: l.label.as_ref().map(|e| (e.form, LabelV::of(&e.label))),
            stroke: l.stroke,
            arrow_start: l.arrow_start,
            arrow_end: l.arrow_end,
            length: l.length,
            edge_type: static_edge_type(&l.edge_type),
        }
    }
}

/// The edge types mermaid produces, as static strings.
pub(crate) fn static_edge_type(t: &str) -> &'static str {
    match t {
        "arrow_point" => "arrow_point",
        "arrow_cross" => "arrow_cross",
        "arrow_circle" => "arrow_circle",
        "double_arrow_point" => "double_arrow_point",
        "double_arrow_cross" => "double_arrow_cross",
        "double_arrow_circle" => "double_arrow_circle",
        _ => "arrow_open",
    }
}
