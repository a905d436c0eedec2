// ncursesw through C: wide-character API plus static inline wrappers for what ncurses
// defines as macros, so Swift never hard-codes attribute bits or calls a macro.
#ifndef WAFER_CNCURSESW_SHIM_H
#define WAFER_CNCURSESW_SHIM_H

#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

static inline WINDOW *wafer_stdscr(void) { return stdscr; }
static inline int wafer_lines(void) { return LINES; }
static inline int wafer_cols(void) { return COLS; }
static inline int wafer_colors(void) { return COLORS; }
static inline int wafer_color_pairs(void) { return COLOR_PAIRS; }
static inline int wafer_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int wafer_getmaxx(WINDOW *w) { return getmaxx(w); }

static inline attr_t wafer_a_normal(void) { return A_NORMAL; }
static inline attr_t wafer_a_bold(void) { return A_BOLD; }
static inline attr_t wafer_a_dim(void) { return A_DIM; }
static inline attr_t wafer_a_underline(void) { return A_UNDERLINE; }
static inline attr_t wafer_a_reverse(void) { return A_REVERSE; }
static inline attr_t wafer_a_italic(void) { return A_ITALIC; }
static inline attr_t wafer_color_pair(int n) { return COLOR_PAIR(n); }

static inline int wafer_key_resize(void) { return KEY_RESIZE; }
static inline int wafer_key_mouse(void) { return KEY_MOUSE; }
static inline int wafer_key_f(int n) { return KEY_F(n); }
static inline int wafer_key_code_yes(void) { return KEY_CODE_YES; }
static inline int wafer_err(void) { return ERR; }
static inline int wafer_ok(void) { return OK; }

/// Writes one cell: a (possibly wide) character with attributes and a colour pair.
static inline int wafer_put_cell(int y, int x, const wchar_t *chars, attr_t attrs, short pair) {
    cchar_t cell;
    if (setcchar(&cell, chars, attrs, pair, NULL) != OK) return ERR;
    return mvadd_wch(y, x, &cell);
}

/// Reads one wide character or key code: returns OK, KEY_CODE_YES or ERR.
static inline int wafer_get_wch(wint_t *out) { return get_wch(out); }

static inline int wafer_use_default_colors(void) { return use_default_colors(); }
static inline int wafer_set_escdelay(int ms) { return set_escdelay(ms); }

#endif
