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

/// Writes a run of single-column or wide characters (no combining marks) from (y, x) in one style.
static inline int wafer_put_run(int y, int x, const wchar_t *chars, int n, attr_t attrs, short pair) {
    wattr_set(stdscr, attrs, pair, NULL);
    return mvwaddnwstr(stdscr, y, x, chars, n);
}

/// Back to plain attributes after drawing runs.
static inline void wafer_reset_attributes(void) { wattr_set(stdscr, A_NORMAL, 0, NULL); }

/// Reads one wide character or key code: returns OK, KEY_CODE_YES or ERR.
static inline int wafer_get_wch(wint_t *out) { return get_wch(out); }

static inline int wafer_use_default_colors(void) { return use_default_colors(); }
static inline int wafer_set_escdelay(int ms) { return set_escdelay(ms); }

static inline int wafer_key_enter(void) { return KEY_ENTER; }
static inline int wafer_key_backspace(void) { return KEY_BACKSPACE; }
static inline int wafer_key_dc(void) { return KEY_DC; }
static inline int wafer_key_ic(void) { return KEY_IC; }
static inline int wafer_key_up(void) { return KEY_UP; }
static inline int wafer_key_down(void) { return KEY_DOWN; }
static inline int wafer_key_left(void) { return KEY_LEFT; }
static inline int wafer_key_right(void) { return KEY_RIGHT; }
static inline int wafer_key_home(void) { return KEY_HOME; }
static inline int wafer_key_end(void) { return KEY_END; }
static inline int wafer_key_ppage(void) { return KEY_PPAGE; }
static inline int wafer_key_npage(void) { return KEY_NPAGE; }
static inline int wafer_key_btab(void) { return KEY_BTAB; }
static inline int wafer_key_max(void) { return KEY_MAX; }

static inline short wafer_color_default(void) { return -1; }
static inline short wafer_color_black(void) { return COLOR_BLACK; }
static inline short wafer_color_red(void) { return COLOR_RED; }
static inline short wafer_color_green(void) { return COLOR_GREEN; }
static inline short wafer_color_yellow(void) { return COLOR_YELLOW; }
static inline short wafer_color_blue(void) { return COLOR_BLUE; }
static inline short wafer_color_magenta(void) { return COLOR_MAGENTA; }
static inline short wafer_color_cyan(void) { return COLOR_CYAN; }
static inline short wafer_color_white(void) { return COLOR_WHITE; }

/// Mouse reporting for the wheel only (buttons 4 and 5). Returns the mask ncurses accepted (0: none).
static inline int wafer_enable_wheel(void) {
    mmask_t old = 0;
    mmask_t got = mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, &old);
    mouseinterval(0);
    return got != 0;
}
static inline void wafer_disable_mouse(void) { mousemask(0, NULL); }

/// After KEY_MOUSE: -1 wheel up, +1 wheel down, 0 anything else.
static inline int wafer_read_wheel(void) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return 0;
    if (ev.bstate & BUTTON4_PRESSED) return -1;
    if (ev.bstate & BUTTON5_PRESSED) return 1;
    return 0;
}

/// Bracketed paste markers as key codes: KEY_MAX+1 starts a paste, KEY_MAX+2 ends it.
static inline void wafer_define_paste_keys(void) {
    define_key("\033[200~", KEY_MAX + 1);
    define_key("\033[201~", KEY_MAX + 2);
}

/// Column width of a wide character under the current locale (-1 for non-printable).
static inline int wafer_wcwidth(wchar_t c) { return wcwidth(c); }

#endif
