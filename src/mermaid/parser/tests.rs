//! Parser unit tests: mermaid's grammar quirks, one test per quirk, and the
//! diagnostics users see. Expected values come from SYNTAX.md (verified
//! against mermaid.js 12.3.0).

use crate::mermaid::ast::{
    ClickAction, EdgeLabelForm, Item, LinkStyleTargets, Statement, SubgraphHeader, Visit,
};
use crate::mermaid::{
    Arrow, DiagramType, Direction, ErrorKind, Flowchart, LabelType, Stroke, parse_document,
    parse_flowchart,
};

fn chart(src: &str) -> Flowchart {
    match parse_flowchart(src) {
        Ok(c) => c,
        Err(d) => panic!("rejected:\n{}", d.render("test.mmd", src)),
    }
}

fn kind(src: &str) -> Option<ErrorKind> {
    parse_flowchart(src).err().map(|d| d.kind)
}

/// The source text under a diagnostic's span.
fn flagged(src: &str) -> String {
    let d = parse_flowchart(src)
        .err()
        .map(|d| d.span)
        .unwrap_or_default();
    src.get(d.start..d.end).unwrap_or_default().to_string()
}

fn edges(c: &Flowchart) -> Vec<(&str, &str)> {
    c.edge_refs().map(|e| (e.from(), e.to())).collect()
}

/// Edge `i` of `c` with its texts (a test fails on a missing edge).
fn edge(c: &Flowchart, i: usize) -> crate::mermaid::EdgeRef<'_> {
    match c.edge(i) {
        Some(e) => e,
        None => panic!("no edge {i} among {}", c.edges.len()),
    }
}

#[test]
fn header_forms_and_directions() {
    assert_eq!(chart("graph >;A-->B;").direction, Direction::LR);
    assert_eq!(chart("graph <\nA").direction, Direction::RL);
    assert_eq!(chart("graph ^\nA").direction, Direction::BT);
    assert_eq!(chart("graph v\nA").direction, Direction::TB);
    assert_eq!(chart("graph TD\nA").direction, Direction::TB);
    assert_eq!(chart("flowchart\nA-->B").direction, Direction::TB);
    assert_eq!(chart("\n  graph RL\nA").direction, Direction::RL);
    let elk = chart("flowchart-elk TD\nA");
    assert_eq!(elk.diagram_type, DiagramType::FlowchartElk);
    assert_eq!(kind("graph TD A-->B"), Some(ErrorKind::Parse));
    assert_eq!(kind("graph TD\nA\ngraph LR"), Some(ErrorKind::Parse));
}

#[test]
fn other_diagrams_and_nothing() {
    assert_eq!(
        kind("sequenceDiagram\nA->>B: hi"),
        Some(ErrorKind::NotFlowchart)
    );
    assert_eq!(
        kind("%% c\nclassDiagram\nA <|-- B"),
        Some(ErrorKind::NotFlowchart)
    );
    assert_eq!(kind("hello"), Some(ErrorKind::UnknownDiagram));
    assert_eq!(kind(""), Some(ErrorKind::UnknownDiagram));
    assert_eq!(
        kind("---\ntitle: x\n---\n"),
        Some(ErrorKind::UnknownDiagram)
    );
}

#[test]
fn keyword_prefixed_ids_fail_or_work_like_mermaid() {
    for bad in [
        "end.x",
        "end-x",
        "subgraph-x",
        "style.x",
        "graph.x",
        "class.x",
        "classDef.x",
        "linkStyle.x",
        "interpolate.x",
        "_self.x",
    ] {
        assert_eq!(
            kind(&format!("graph TD\n{bad}")),
            Some(ErrorKind::Parse),
            "{bad}"
        );
    }
    for good in [
        "default.node",
        "click-node",
        "href/node",
        "call.x",
        "endpoint",
        "blend",
        "subgraphs",
        "styles",
    ] {
        let c = chart(&format!("graph TD\n{good} --> B"));
        assert_eq!(c.nodes[0].id, good);
    }
}

#[test]
fn end_as_a_node_id_points_at_end_with_a_hint() {
    let src = "graph TD\nA --> end";
    let d = parse_flowchart(src).expect_err("rejected");
    assert_eq!(&src[d.span.start..d.span.end], "end");
    assert!(d.render("f.mmd", src).starts_with("f.mmd:2:7: error:"));
    assert!(d.hint.unwrap_or_default().contains("`end` is a keyword"));
}

#[test]
fn dev_dash_ops_becomes_a_circle_edge_to_ps() {
    let c = chart("graph LR\ndev---ops");
    assert_eq!(edges(&c), [("dev", "ps")]);
    assert_eq!(c.edges[0].arrow_end, Arrow::Circle);
    assert_eq!(c.edges[0].length, 2);
    let c = chart("graph LR\ndev--- ops");
    assert_eq!(edges(&c), [("dev", "ops")]);
}

#[test]
fn x_or_o_before_a_link_is_an_arrowhead() {
    assert_eq!(kind("graph LR\nx-->y"), Some(ErrorKind::Parse));
    assert_eq!(edges(&chart("graph LR\nx --> y")), [("x", "y")]);
    let c = chart("graph LR\nA o--o B\nB x--x C\nC <--> D");
    let heads: Vec<(Arrow, Arrow)> = c
        .edges
        .iter()
        .map(|e| (e.arrow_start, e.arrow_end))
        .collect();
    assert_eq!(
        heads,
        [
            (Arrow::Circle, Arrow::Circle),
            (Arrow::Cross, Arrow::Cross),
            (Arrow::Arrow, Arrow::Arrow)
        ]
    );
}

#[test]
fn link_tokens_swallow_newlines() {
    assert_eq!(edges(&chart("graph TD\nA -->\n B")), [("A", "B")]);
    assert_eq!(edges(&chart("graph TD\nA\n--> B")), [("A", "B")]);
}

#[test]
fn strokes_lengths_and_the_mixed_end_quirk() {
    let c = chart(
        "graph TD\nA-->B\nA--->B\nA-.->B\nA-..->B\nA==>B\nA===B\nA~~~B\nA~~~~B\nA-.-B\nA<--xB\nA------------------>B",
    );
    let got: Vec<(Stroke, Arrow, Arrow, u8)> = c
        .edges
        .iter()
        .map(|e| (e.stroke, e.arrow_start, e.arrow_end, e.length))
        .collect();
    assert_eq!(
        got,
        [
            (Stroke::Normal, Arrow::None, Arrow::Arrow, 1),
            (Stroke::Normal, Arrow::None, Arrow::Arrow, 2),
            (Stroke::Dotted, Arrow::None, Arrow::Arrow, 1),
            (Stroke::Dotted, Arrow::None, Arrow::Arrow, 2),
            (Stroke::Thick, Arrow::None, Arrow::Arrow, 1),
            (Stroke::Thick, Arrow::None, Arrow::None, 1),
            (Stroke::Invisible, Arrow::None, Arrow::None, 1),
            (Stroke::Invisible, Arrow::None, Arrow::None, 2),
            (Stroke::Dotted, Arrow::None, Arrow::None, 1),
            (Stroke::Normal, Arrow::None, Arrow::Cross, 2),
            (Stroke::Normal, Arrow::None, Arrow::Arrow, 10),
        ]
    );
}

#[test]
fn both_edge_label_forms() {
    let c = chart(
        "graph TD\nA-->|pipe| B\nA-- inline -->B\nA-. dotted .->B\nA== thick ==>B\nA-- \"x (y)\" -->B\nA-->|\"`**md**`\"|B",
    );
    let labels: Vec<(&str, LabelType)> = c.edge_refs().map(|e| (e.label(), e.label_type)).collect();
    assert_eq!(
        labels,
        [
            ("pipe", LabelType::Text),
            ("inline", LabelType::Text),
            ("dotted", LabelType::Text),
            ("thick", LabelType::Text),
            ("x (y)", LabelType::String),
            ("**md**", LabelType::Markdown),
        ]
    );
    let doc = parse_document("graph TD\nA-->|p|B\nA-- i -->B").unwrap_or_default();
    let forms: Vec<EdgeLabelForm> = doc
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Statement(Statement::Chain(c)) => c.links[0].link.label.as_ref().map(|l| l.form),
            _ => None,
        })
        .collect();
    assert_eq!(forms, [EdgeLabelForm::Pipe, EdgeLabelForm::Inline]);
}

#[test]
fn mismatched_inline_strokes_are_explained() {
    let src = "graph TD\nA-- text ==> B";
    let d = parse_flowchart(src).expect_err("rejected");
    assert!(d.message.contains("strokes differ"), "{}", d.message);
    assert_eq!(&src[d.span.start..d.span.end], "--");
    assert_eq!(
        kind("graph TD;A-- text including graph space --B"),
        Some(ErrorKind::Parse)
    );
}

#[test]
fn labels_trim_quote_entities_and_markdown() {
    let c = chart(
        "graph TD\nA[ h ]\nB[\" test \"]\nC[\"A double quote:#quot;\"]\nD[\"`**b**`\"]\nE[Object&#40;x&#41;]",
    );
    let l: Vec<(&str, LabelType)> = c
        .nodes
        .iter()
        .map(|n| (n.label.as_str(), n.label_type))
        .collect();
    assert_eq!(
        l,
        [
            ("h", LabelType::Text),
            ("test", LabelType::String),
            ("A double quote:&quot;", LabelType::String),
            ("**b**", LabelType::Markdown),
            ("Object&&#40;x&&#41;", LabelType::Text),
        ]
    );
}

#[test]
fn brackets_and_quotes_inside_labels() {
    assert_eq!(kind("graph TD\nA[a () b]"), Some(ErrorKind::Parse));
    assert_eq!(flagged("graph TD\nA[a () b]"), "(");
    assert_eq!(kind("graph TD\nA(x \"y\" z)"), Some(ErrorKind::Parse));
    assert_eq!(kind("graph TD\nA[\"a \"b\" c\"]"), Some(ErrorKind::Parse));
    assert_eq!(
        kind("graph TD; node[hello ) world] --> works"),
        Some(ErrorKind::Parse)
    );
    assert_eq!(
        chart("graph TD\nA[\"a (b) [c] {d}\"]").nodes[0].label,
        "a (b) [c] {d}"
    );
    assert_eq!(chart("graph TD\nA(,.?!+-*)").nodes[0].label, ",.?!+-*");
}

#[test]
fn unclosed_brackets_name_the_opener() {
    let src = "graph TD\nA[oops --> B";
    let d = parse_flowchart(src).expect_err("rejected");
    assert_eq!(&src[d.span.start..d.span.end], "[");
    assert!(d.message.contains("never closed"), "{}", d.message);
    let src = "graph TD\nA[\"open string";
    assert_eq!(kind(src), Some(ErrorKind::Parse));
}

#[test]
fn every_bracket_shape() {
    let c = chart(
        "graph TD\na[x]\nb(x)\nc([x])\nd[[x]]\ne[(x)]\nf((x))\ng(((x)))\nh>x]\ni{x}\nj{{x}}\nk[/x/]\nl[\\x\\]\nm[/x\\]\nn[\\x/]\no(-x-)\np[|borders:lt|x]",
    );
    let shapes: Vec<&str> = c.nodes.iter().filter_map(|n| n.shape.as_deref()).collect();
    assert_eq!(
        shapes,
        [
            "square",
            "round",
            "stadium",
            "subroutine",
            "cylinder",
            "circle",
            "doublecircle",
            "odd",
            "diamond",
            "hexagon",
            "lean_right",
            "lean_left",
            "trapezoid",
            "inv_trapezoid",
            "ellipse",
            "rect"
        ]
    );
    assert_eq!(
        c.nodes[15].attrs.props.get("borders").map(String::as_str),
        Some("lt")
    );
}

#[test]
fn shape_data_names_aliases_and_errors() {
    let c = chart(
        "flowchart TB\nA@{ shape: manual-file, label: \"File\" }\nB@{shape: rounded} & C --> D@{ shape: cyl }",
    );
    assert_eq!(c.nodes[0].shape.as_deref(), Some("manual-file"));
    assert_eq!(c.nodes[0].label_type, LabelType::Markdown);
    assert_eq!(c.node("D").and_then(|n| n.shape.as_deref()), Some("cyl"));
    assert_eq!(kind("flowchart TB\nA@{ shape: foo }"), Some(ErrorKind::Db));
    assert_eq!(kind("flowchart TB\nA@{ shape: Rect }"), Some(ErrorKind::Db));
    assert_eq!(
        kind("flowchart TB\nA@{ shape: rect_left_inv_arrow }"),
        Some(ErrorKind::Db)
    );
    assert_eq!(
        kind("flowchart TB\nA @{ shape: rect }"),
        Some(ErrorKind::Parse)
    );
    let c = chart("flowchart TB\nA@{\n  label: \"two\n  lines\"\n}");
    assert_eq!(c.nodes[0].label, "two<br/>lines");
}

#[test]
fn ampersands_make_cartesian_products() {
    let c = chart("flowchart LR\nA & B--> C & D");
    assert_eq!(edges(&c), [("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")]);
    let c = chart("flowchart LR\na --> b & c--> d");
    assert_eq!(edges(&c), [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
    assert_eq!(chart("graph TD\nA&B").nodes[0].id, "A&B");
    assert_eq!(kind("graph TD\nA &B"), Some(ErrorKind::Parse));
}

#[test]
fn subgraph_titles_directions_and_nesting() {
    let c = chart(
        "graph LR\nsubgraph one\na\nend\nsubgraph ide1 [Title]\nb\nend\nsubgraph \"Quoted Title\"\nc\nend\nsubgraph Bare Words\ndirection TD\nd\nend\nsubgraph\ne\nend",
    );
    let got: Vec<(&str, &str, Option<Direction>)> = c
        .subgraphs
        .iter()
        .map(|s| (s.id.as_str(), s.title.as_str(), s.direction))
        .collect();
    assert_eq!(
        got,
        [
            ("one", "one", None),
            ("ide1", "Title", None),
            ("subGraph2", "Quoted Title", None),
            ("subGraph3", "Bare Words", Some(Direction::TD)),
            ("subGraph4", "", None),
        ]
    );
    assert_eq!(kind("graph TD\nsubgraph S\nA"), Some(ErrorKind::Parse));
    let src = "graph TD\nsubgraph S\nA";
    assert_eq!(flagged(src), "subgraph");
    assert_eq!(kind("graph TD\nA\nend"), Some(ErrorKind::Parse));
}

#[test]
fn class_def_class_style_and_shorthand() {
    let c = chart(
        "graph TD\nclassDef foo fill:#f96,stroke:#333\nclassDef a,b color:red\nA:::foo --> B\nclass B a\nstyle A stroke-width:4px\nclassDef default fill:#eee",
    );
    assert_eq!(c.class_defs["foo"], ["fill:#f96", "stroke:#333"]);
    assert_eq!(c.class_defs["b"], ["color:red"]);
    assert!(c.class_defs.contains_key("default"));
    assert_eq!(*c.nodes[0].classes, ["foo"]);
    assert_eq!(*c.nodes[1].classes, ["a"]);
    assert_eq!(*c.nodes[0].styles, ["stroke-width:4px"]);
}

#[test]
fn style_entity_quirk() {
    assert_eq!(
        kind("graph TD;style T background: #bbb;"),
        Some(ErrorKind::Parse)
    );
    let d = parse_flowchart("graph TD;style T background: #bbb;").expect_err("rejected");
    assert!(d.hint.unwrap_or_default().contains("entity"));
    assert_eq!(
        *chart("graph TD;style T background:#bbb;").nodes[0].styles,
        ["background:#bbb"]
    );
}

#[test]
fn link_style_forms() {
    let c = chart(
        "graph TD\nA-->B\nB-->C\nlinkStyle 0,1 stroke:red\nlinkStyle default interpolate basis stroke:#999",
    );
    assert_eq!(edge(&c, 1).attrs().style, ["stroke:red", "fill:none"]);
    assert_eq!(
        c.link_style_default.as_deref(),
        Some(&["stroke:#999".to_string()][..])
    );
    assert_eq!(c.link_interpolate_default.as_deref(), Some("basis"));
    let doc = parse_document("graph TD\nA-->B\nlinkStyle 0 interpolate linear").unwrap_or_default();
    let Some(Item::Statement(Statement::LinkStyle(ls))) = doc.items.last() else {
        panic!("no linkStyle")
    };
    assert!(matches!(&ls.targets, LinkStyleTargets::Indices(v) if v[0].value == 0));
    assert_eq!(
        ls.interpolate.as_ref().map(|i| i.text.as_str()),
        Some("linear")
    );
}

#[test]
fn click_forms() {
    let c = chart(
        "flowchart LR\nA-->B-->C-->D\nclick A callback \"tip a\"\nclick B \"https://x.org\" \"tip b\" _blank\nclick C call cb(\"x\", 1)\nclick D href \"https://y.org\" _self",
    );
    assert_eq!(c.nodes[0].attrs.tooltip.as_deref(), Some("tip a"));
    assert!(c.nodes[0].attrs.have_callback);
    assert_eq!(c.nodes[1].attrs.link.as_deref(), Some("https://x.org/"));
    assert_eq!(c.nodes[1].attrs.link_target.as_deref(), Some("_blank"));
    assert_eq!(c.nodes[3].attrs.link_target.as_deref(), Some("_self"));
    assert!(c.nodes.iter().all(|n| *n.classes == ["clickable"]));
    let doc = parse_document("flowchart LR\nA\nclick A call cb(\"x\", 1)").unwrap_or_default();
    let Some(Item::Statement(Statement::Click(click))) = doc.items.last() else {
        panic!("no click")
    };
    let ClickAction::Callback { name, args, call } = &click.action else {
        panic!("not a callback")
    };
    assert_eq!(
        (
            name.text.as_str(),
            args.as_ref().map(|a| a.text.as_str()),
            *call
        ),
        ("cb", Some("\"x\", 1"), true)
    );
}

#[test]
fn accessibility_comments_directives_frontmatter() {
    let src = "---\ntitle: Orders\n---\n%%{init: {\"theme\": \"dark\"}}%%\n%% leading\nflowchart LR\n  %% inside\n  accTitle: The title \n  accDescr {\n    line one\n    line two\n  }\n  A --> B %% not a comment";
    assert_eq!(kind(src), Some(ErrorKind::Parse));
    let src = src.replace(" %% not a comment", "");
    let c = chart(&src);
    assert_eq!(c.title.as_deref(), Some("Orders"));
    assert_eq!(c.acc_title.as_deref(), Some("The title"));
    assert_eq!(c.acc_descr.as_deref(), Some("line one\nline two"));
    let doc = parse_document(&src).unwrap_or_default();
    assert_eq!(
        doc.frontmatter.as_ref().and_then(|f| f.title.as_deref()),
        Some("Orders")
    );
    assert!(matches!(doc.leading.first(), Some(Item::Directive(_))));
    assert!(matches!(doc.leading.get(1), Some(Item::Comment(c)) if c.text == " leading"));
    assert!(matches!(doc.items.first(), Some(Item::Comment(c)) if c.text == " inside"));
}

#[test]
fn edge_ids_and_their_settings() {
    let c = chart("flowchart LR\nA e1@--> B\nA e1@--> C\ne1@{ animation: fast }\nclass e1 animate");
    assert_eq!(edge(&c, 0).id(), "e1");
    assert!(c.edges[0].user_defined_id());
    assert_eq!(edge(&c, 1).id(), "L_A_C_0");
    assert_eq!(edge(&c, 0).attrs().animation.as_deref(), Some("fast"));
    assert_eq!(edge(&c, 0).attrs().classes, ["animate"]);
    assert_eq!(
        chart("graph TD\nA-->B[mail@host]").nodes[1].label,
        "mail@host"
    );
}

#[test]
fn spans_point_into_the_original_source() {
    let src = "%% c\r\ngraph TD\r\n  A[\"#quot;x#quot;\"] --> Bee\r\n";
    let doc = parse_document(src).unwrap_or_default();
    for v in doc.walk() {
        if let Visit::Item(Item::Statement(Statement::Chain(c)), _) = v {
            let a = &c.head.nodes[0];
            assert_eq!(&src[a.id.span.start..a.id.span.end], "A");
            let label = &a.shape.as_ref().expect("shape").label;
            assert_eq!(label.raw, "\"#quot;x#quot;\"");
            assert_eq!(label.text, "&quot;x&quot;");
            let b = &c.links[0].nodes.nodes[0];
            assert_eq!(&src[b.id.span.start..b.id.span.end], "Bee");
            assert_eq!(
                &src[c.links[0].link.arrow.span.start..c.links[0].link.arrow.span.end],
                "-->"
            );
        }
    }
}

#[test]
fn ast_and_streaming_paths_agree() {
    let src = "flowchart LR\nsubgraph S [T]\nA[a] -->|x| B((b)) & C\nend\nC e9@-.-> A\ne9@{ curve: step }\nstyle A fill:#f00\nclick B \"u\"";
    let streamed = chart(src);
    let doc = parse_document(src).unwrap_or_default();
    let lowered = Flowchart::from_document(&doc).unwrap_or_default();
    assert_eq!(streamed.to_corpus_json(), lowered.to_corpus_json());
    let header = match doc.items.first() {
        Some(Item::Statement(Statement::Subgraph(sg))) => sg.header.clone(),
        _ => panic!("no subgraph"),
    };
    let SubgraphHeader::IdTitle { id, title } = &header else {
        panic!("not id [title]")
    };
    assert_eq!((id.text.trim(), title.text.as_str()), ("S", "T"));
}

#[test]
fn deep_nesting_uses_no_recursion() {
    let depth = 20_000;
    let src = format!(
        "graph TD\n{}A\n{}",
        "subgraph s\n".repeat(depth),
        "end\n".repeat(depth)
    );
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let c = parse_flowchart(&src).map(|c| c.subgraphs.len());
            let d = parse_document(&src).map(|d| d.items.len());
            (c, d)
        })
        .expect("spawn");
    let (c, d) = handle.join().expect("no stack overflow");
    assert_eq!(c.ok(), Some(1), "reopened `s` merges into one subgraph");
    assert_eq!(d.ok(), Some(1));
}

#[test]
fn unterminated_things_at_eof_are_errors_not_panics() {
    for src in [
        "graph TD\nA[\"x",
        "graph TD\nA@{ shape: ",
        "graph TD\nA-- x",
        "graph TD\nA-->|x",
        "graph TD\nclick A call f(",
        "graph TD\naccDescr {\nx",
        "graph TD\nA[`x",
    ] {
        let _ = parse_flowchart(src);
        let _ = parse_document(src);
    }
    assert_eq!(kind("graph TD\nA[\"x"), Some(ErrorKind::Parse));
}

#[test]
fn a_parse_after_a_bigger_one_starts_from_clean_tables() {
    // The thread's working memory is reused: counts, vertex indices and
    // claimed flags left by the bigger chart must not leak into the next.
    let small = "---\ntitle: S\n---\ngraph TD\nA-->B\nA-->B\nB-->A\nsubgraph g\nA\nend\n";
    let fresh = std::thread::spawn(move || chart(small))
        .join()
        .unwrap_or_else(|_| panic!("the fresh parse panicked"));
    let mut big = String::from("flowchart LR\n");
    for i in 0..500 {
        big.push_str(&format!(
            "A-->B\nn{i}-->n{}\nsubgraph s{i}\nA\nn{i}\nend\n",
            i + 1
        ));
    }
    assert_eq!(chart(&big).edges.len(), 1000);
    let again = chart(small);
    assert_eq!(again, fresh);
    let ids: Vec<String> = again.edge_refs().map(|e| e.id().into_owned()).collect();
    assert_eq!(ids, ["L_A_B_0", "L_A_B_2", "L_B_A_0"]);
    assert_eq!(again.subgraphs[0].members, ["A"]);
}

#[test]
fn a_hub_counts_repeated_pairs_past_its_short_list() {
    // The first pairs of a source are counted in a short list, the rest
    // by table: a repeat must be found either way.
    let mut src = String::from("flowchart LR\n");
    for i in 0..40 {
        src.push_str(&format!("hub --> t{i}\n"));
    }
    src.push_str("hub --> t3\nhub --> t30\nhub --> t30\n");
    let c = chart(&src);
    let ids: Vec<String> = c
        .edge_refs()
        .skip(40)
        .map(|e| e.id().into_owned())
        .collect();
    assert_eq!(ids, ["L_hub_t3_2", "L_hub_t30_2", "L_hub_t30_3"]);
    assert_eq!(edge(&c, 39).id(), "L_hub_t39_0");
}
