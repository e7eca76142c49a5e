#ifndef VG_RENDER_FONT_H
#define VG_RENDER_FONT_H

/* An 8x16 bitmap font for printable ASCII (0x20..0x7E): one byte per row, most significant bit leftmost. */
#define VG_FONT_W 8
#define VG_FONT_H 16

extern const unsigned char vg_font8x16[95][16];

#endif
