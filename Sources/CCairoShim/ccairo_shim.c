#include "ccairo_shim.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The soname Debian's libcairo2 installs; the headers we build against are libcairo2-dev's. */
#define TM_LIBCAIRO "libcairo.so.2"

/* One function pointer per call, resolved once by load(); each wrapper forwards to it. */
#define CAIRO_CALLS(X) \
    X(cairo_surface_t *, cairo_image_surface_create, (cairo_format_t a, int b, int c), (a, b, c)) \
    X(cairo_status_t, cairo_surface_status, (cairo_surface_t *a), (a)) \
    X(unsigned char *, cairo_image_surface_get_data, (cairo_surface_t *a), (a)) \
    X(int, cairo_image_surface_get_width, (cairo_surface_t *a), (a)) \
    X(int, cairo_image_surface_get_height, (cairo_surface_t *a), (a)) \
    X(int, cairo_image_surface_get_stride, (cairo_surface_t *a), (a)) \
    X(cairo_t *, cairo_create, (cairo_surface_t *a), (a))
#define CAIRO_VOID_CALLS(X) \
    X(cairo_surface_flush, (cairo_surface_t *a), (a)) \
    X(cairo_surface_destroy, (cairo_surface_t *a), (a)) \
    X(cairo_destroy, (cairo_t *a), (a)) \
    X(cairo_paint, (cairo_t *a), (a)) \
    X(cairo_stroke, (cairo_t *a), (a)) \
    X(cairo_fill, (cairo_t *a), (a)) \
    X(cairo_new_sub_path, (cairo_t *a), (a)) \
    X(cairo_move_to, (cairo_t *a, double b, double c), (a, b, c)) \
    X(cairo_line_to, (cairo_t *a, double b, double c), (a, b, c)) \
    X(cairo_arc, (cairo_t *a, double b, double c, double d, double e, double f), (a, b, c, d, e, f)) \
    X(cairo_set_line_width, (cairo_t *a, double b), (a, b)) \
    X(cairo_set_dash, (cairo_t *a, const double *b, int c, double d), (a, b, c, d)) \
    X(cairo_set_antialias, (cairo_t *a, cairo_antialias_t b), (a, b)) \
    X(cairo_set_line_join, (cairo_t *a, cairo_line_join_t b), (a, b)) \
    X(cairo_set_source_rgb, (cairo_t *a, double b, double c, double d), (a, b, c, d)) \
    X(cairo_select_font_face, (cairo_t *a, const char *b, cairo_font_slant_t c, cairo_font_weight_t d), (a, b, c, d)) \
    X(cairo_set_font_size, (cairo_t *a, double b), (a, b)) \
    X(cairo_show_text, (cairo_t *a, const char *b), (a, b)) \
    X(cairo_text_extents, (cairo_t *a, const char *b, cairo_text_extents_t *c), (a, b, c))

#define POINTER(ret, name, params, args) static ret (*p_##name) params;
#define VOID_POINTER(name, params, args) static void (*p_##name) params;
CAIRO_CALLS(POINTER)
CAIRO_VOID_CALLS(VOID_POINTER)

static int loaded;
static char error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

#define RESOLVE(name) \
    if (!(*(void **)&p_##name = dlsym(handle, #name))) { \
        snprintf(error, sizeof error, "%s has no %s", TM_LIBCAIRO, #name); \
        return; \
    }
#define RESOLVE_CALL(ret, name, params, args) RESOLVE(name)
#define RESOLVE_VOID_CALL(name, params, args) RESOLVE(name)

static void load(void) {
    void *handle = dlopen(TM_LIBCAIRO, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(error, sizeof error, "cannot load %s (Debian package libcairo2): %s", TM_LIBCAIRO, dlerror());
        return;
    }
    CAIRO_CALLS(RESOLVE_CALL)
    CAIRO_VOID_CALLS(RESOLVE_VOID_CALL)
    loaded = 1;
}

int tm_cairo_load(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *tm_cairo_load_error(void) { return tm_cairo_load() ? "" : error; }

#define WRAPPER(ret, name, params, args) ret tm_##name params { return p_##name args; }
#define VOID_WRAPPER(name, params, args) void tm_##name params { p_##name args; }
CAIRO_CALLS(WRAPPER)
CAIRO_VOID_CALLS(VOID_WRAPPER)
