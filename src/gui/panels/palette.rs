//! The palette: the component kinds a user drags onto the canvas (or
//! clicks to add at the view's centre). Emits [`Command::AddComponent`].

use crate::export::style::role_icon;
use crate::gui::command::Command;
use crate::gui::theme::Theme;
use crate::layout::{Point, Rect as LayoutRect};
use crate::mermaid::ast::BracketShape;
use crate::model::Role;
use egui::{Pos2, Sense};

/// One kind of component the palette offers.
#[derive(Debug, Clone, Copy)]
pub struct PaletteItem {
    /// What the palette shows.
    pub title: &'static str,
    /// The Mermaid id stem for new components (`Consumer`, `Consumer2`, ...).
    pub key: &'static str,
    /// The role class the component gets.
    pub role: Role,
    /// Its shape.
    pub shape: BracketShape,
}

/// Every kind the palette offers, in the order shown.
pub const PALETTE: [PaletteItem; 12] = [
    item("Producer", "Producer", Role::Producer, BracketShape::Square),
    item("Event bus", "Bus", Role::Bus, BracketShape::Stadium),
    item(
        "Event store",
        "EventStore",
        Role::Store,
        BracketShape::Cylinder,
    ),
    item("Consumer", "Consumer", Role::Consumer, BracketShape::Square),
    item(
        "Projection",
        "Projection",
        Role::Projection,
        BracketShape::Round,
    ),
    item(
        "Command handler",
        "Command",
        Role::Command,
        BracketShape::Subroutine,
    ),
    item("Database", "Database", Role::Sink, BracketShape::Cylinder),
    item("Gateway", "Gateway", Role::Gateway, BracketShape::Hexagon),
    item("External", "External", Role::External, BracketShape::Round),
    item("Saga", "Saga", Role::Saga, BracketShape::Subroutine),
    item(
        "Dead-letter queue",
        "DeadLetter",
        Role::DeadLetter,
        BracketShape::Square,
    ),
    item(
        "Schema registry",
        "SchemaRegistry",
        Role::SchemaRegistry,
        BracketShape::Square,
    ),
];

const fn item(
    title: &'static str,
    key: &'static str,
    role: Role,
    shape: BracketShape,
) -> PaletteItem {
    PaletteItem {
        title,
        key,
        role,
        shape,
    }
}

/// The drag-and-drop payload of a palette entry: its index in [`PALETTE`].
#[derive(Debug, Clone, Copy)]
pub struct PaletteDrop(pub usize);

/// Draws the palette; `view_center` is where a clicked entry is added.
pub fn palette_ui(
    ui: &mut egui::Ui,
    theme: &Theme,
    view_center: Pos2,
    commands: &mut Vec<Command>,
) {
    ui.heading("Components");
    ui.label(
        egui::RichText::new("Drag onto the canvas, or click")
            .small()
            .color(theme.ink_weak),
    );
    ui.add_space(4.0);
    for (i, item) in PALETTE.iter().enumerate() {
        let text = egui::RichText::new(format!("       {}", item.title));
        let button = egui::Button::new(text)
            .fill(theme.role_fill(item.role))
            .stroke(egui::Stroke::new(1.0, theme.role_accent(item.role)))
            .min_size(egui::vec2(ui.available_width(), 26.0))
            .sense(Sense::click_and_drag());
        let resp = ui
            .add(button)
            .on_hover_text(format!("Add a {}", item.role.title()));
        // The role icon, drawn as the canvas and the export draw it.
        let at = resp.rect.left_center() + egui::vec2(8.0, -7.0);
        let r = LayoutRect {
            min: Point { x: at.x, y: at.y },
            max: Point {
                x: at.x + 14.0,
                y: at.y + 14.0,
            },
        };
        let stroke = egui::Stroke::new(1.3, theme.role_accent(item.role));
        for outline in role_icon(item.role, r) {
            let pts: Vec<egui::Pos2> = outline
                .flatten()
                .into_iter()
                .map(|p| egui::pos2(p.x, p.y))
                .collect();
            ui.painter().add(egui::Shape::line(pts, stroke));
        }
        if resp.drag_started() {
            egui::DragAndDrop::set_payload(ui.ctx(), PaletteDrop(i));
        }
        if resp.dragged()
            && let Some(p) = ui.ctx().pointer_interact_pos()
        {
            let layer = egui::LayerId::new(egui::Order::Tooltip, egui::Id::new("palette-drag"));
            ui.ctx().layer_painter(layer).text(
                p + egui::vec2(12.0, 0.0),
                egui::Align2::LEFT_CENTER,
                item.title,
                egui::FontId::proportional(14.0),
                theme.role_accent(item.role),
            );
        }
        if resp.clicked() {
            commands.push(Command::AddComponent(i, view_center));
        }
    }
}
