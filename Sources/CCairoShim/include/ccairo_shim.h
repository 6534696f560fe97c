#ifndef CCAIRO_SHIM_H
#define CCAIRO_SHIM_H
#include <cairo/cairo.h>

/* cairo is opened with dlopen at the first chart, not linked: Debian's libcairo brings pixman, X11, xcb,
 * FreeType, fontconfig, expat and libpng, ~1.6 MB of resident memory in a daemon that draws a chart only
 * for a digest or an alert email (BENCHMARKS.md, "Idle footprint"). */

/* 1 when libcairo is loaded; otherwise 0, and tm_cairo_load_error says why. */
int tm_cairo_load(void);
const char *tm_cairo_load_error(void);

/* The cairo calls ChartPNG makes, one to one (valid only after tm_cairo_load() returned 1). */
cairo_surface_t *tm_cairo_image_surface_create(cairo_format_t format, int width, int height);
cairo_status_t tm_cairo_surface_status(cairo_surface_t *surface);
void tm_cairo_surface_flush(cairo_surface_t *surface);
void tm_cairo_surface_destroy(cairo_surface_t *surface);
unsigned char *tm_cairo_image_surface_get_data(cairo_surface_t *surface);
int tm_cairo_image_surface_get_width(cairo_surface_t *surface);
int tm_cairo_image_surface_get_height(cairo_surface_t *surface);
int tm_cairo_image_surface_get_stride(cairo_surface_t *surface);
cairo_t *tm_cairo_create(cairo_surface_t *target);
void tm_cairo_destroy(cairo_t *cr);
void tm_cairo_paint(cairo_t *cr);
void tm_cairo_stroke(cairo_t *cr);
void tm_cairo_fill(cairo_t *cr);
void tm_cairo_new_sub_path(cairo_t *cr);
void tm_cairo_move_to(cairo_t *cr, double x, double y);
void tm_cairo_line_to(cairo_t *cr, double x, double y);
void tm_cairo_arc(cairo_t *cr, double xc, double yc, double radius, double angle1, double angle2);
void tm_cairo_set_line_width(cairo_t *cr, double width);
void tm_cairo_set_dash(cairo_t *cr, const double *dashes, int num_dashes, double offset);
void tm_cairo_set_antialias(cairo_t *cr, cairo_antialias_t antialias);
void tm_cairo_set_line_join(cairo_t *cr, cairo_line_join_t line_join);
void tm_cairo_set_source_rgb(cairo_t *cr, double red, double green, double blue);
void tm_cairo_select_font_face(cairo_t *cr, const char *family, cairo_font_slant_t slant, cairo_font_weight_t weight);
void tm_cairo_set_font_size(cairo_t *cr, double size);
void tm_cairo_show_text(cairo_t *cr, const char *utf8);
void tm_cairo_text_extents(cairo_t *cr, const char *utf8, cairo_text_extents_t *extents);
#endif
