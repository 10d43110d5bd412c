// draw.h: black text on an RGB picture [H][W][3] in a built-in 5×7 font:
// labels for contact sheets and plots.
#ifndef BICOT_DRAW_H
#define BICOT_DRAW_H

#include <stdint.h>

enum { BC_DRAW_ADVANCE = 6, BC_DRAW_HEIGHT = 7 };  // font pixels per character, per line

// One character (non-printable: '?') with its top-left at (x, y), each font
// pixel a scale×scale block, clipped to the picture.
void bc_draw_char(uint8_t *rgb, int W, int H, int x, int y, int scale, char ch);
// A string from (x, y), stopping before a character that would end past
// x + max_w (max_w < 0: no limit). Returns the width drawn.
int bc_draw_text(uint8_t *rgb, int W, int H, int x, int y, int scale, const char *text, int max_w);

#endif
