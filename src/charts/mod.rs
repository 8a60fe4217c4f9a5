//! Charts drawn on the server with `plotters`: SVG for the dashboard, PNG for Discord. They
//! take plain figures and know nothing of where those came from.

mod gates;
mod timeline;
mod trend;

use std::sync::Once;

use plotters::prelude::*;

pub use gates::{gate_readings, GatePoint, GateThresholds};
pub use timeline::{stage_timeline, Span, SpanKind};
pub use trend::{trend_charts, trend_png, TrendChart};

/// The font every chart's text is measured and drawn with: built in, so a chart looks the
/// same on any host, fonts installed or not.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

/// Chart colours, the dashboard stylesheet's palette.
const INK: RGBColor = RGBColor(0x1f, 0x29, 0x37);
const GO: RGBColor = RGBColor(0x16, 0xa3, 0x4a);
const NO_GO: RGBColor = RGBColor(0xdc, 0x26, 0x26);
const HOLD: RGBColor = RGBColor(0xd9, 0x77, 0x06);
const CALM: RGBColor = RGBColor(0x25, 0x63, 0xeb);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are compiled in and known to parse; a failure would draw no text at all.
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::error!("The built-in chart font did not load");
        }
    });
}

/// Draws with `draw` onto an SVG of `size` and returns its text.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, String> {
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Draws with `draw` onto a bitmap of `size` and returns it encoded as a PNG.
fn png(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    register_font();
    let (width, height) = size;
    let mut pixels = vec![0_u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Any drawing error as text: a chart that cannot be drawn is reported, never a panic.
fn failed<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

/// A message in the middle of an empty chart, such as "not deployed".
fn empty<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    message: &str,
) -> Result<(), String> {
    let (width, height) = root.dim_in_pixel();
    let style = ("sans-serif", 14).into_font().color(&INK);
    root.draw(&Text::new(caption.to_owned(), (10, 8), style.clone()))
        .map_err(failed)?;
    let x = i32::try_from(width / 2).unwrap_or(0) - 60;
    let y = i32::try_from(height / 2).unwrap_or(0);
    root.draw(&Text::new(message.to_owned(), (x.max(10), y), style))
        .map_err(failed)
}

#[cfg(test)]
mod tests;
