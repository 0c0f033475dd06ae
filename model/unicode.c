/* UTF-8 and Unicode classes for the tokenizers (see unicode.h). */
#include "model/unicode.h"

size_t erg_utf8_seq_len(unsigned char lead) {
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

/* The range of the second byte, which excludes overlongs, surrogates and
 * code points past U+10FFFF; later bytes are always 80..BF. */
static void second_byte_range(unsigned char lead, unsigned char *lo, unsigned char *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (lead == 0xE0)
        *lo = 0xA0;
    else if (lead == 0xED)
        *hi = 0x9F;
    else if (lead == 0xF0)
        *lo = 0x90;
    else if (lead == 0xF4)
        *hi = 0x8F;
}

/* How many bytes of s form a valid prefix of the sequence s[0] starts. */
static size_t valid_prefix(const unsigned char *s, size_t len, size_t need) {
    unsigned char lo, hi;
    second_byte_range(s[0], &lo, &hi);
    size_t i = 1;
    for (; i < need && i < len; i++) {
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            break;
    }
    return i;
}

uint32_t erg_utf8_decode(const char *str, size_t len, size_t *n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t need = erg_utf8_seq_len(s[0]);
    *n = 1;
    if (need == 1)
        return s[0];
    if (need == 0)
        return ERG_UNICODE_REPLACEMENT;
    size_t got = valid_prefix(s, len, need);
    if (got < need) {
        *n = got; /* the maximal subpart becomes one U+FFFD */
        return ERG_UNICODE_REPLACEMENT;
    }
    *n = need;
    uint32_t cp = s[0] & (0xFF >> (need + 1));
    for (size_t i = 1; i < need; i++)
        cp = cp << 6 | (s[i] & 0x3F);
    return cp;
}

size_t erg_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t erg_utf8_incomplete_tail(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        const unsigned char *p = s + len - back;
        size_t need = erg_utf8_seq_len(*p);
        if (need == 0)
            continue; /* a continuation byte (or invalid): look further back */
        return need > back && valid_prefix(p, back, need) == back ? back : 0;
    }
    return 0;
}

static bool in_ranges(const erg_unicode_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

bool erg_unicode_is_letter(uint32_t cp) {
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return in_ranges(erg_unicode_letter, erg_unicode_letter_count, cp);
}

bool erg_unicode_is_number(uint32_t cp) {
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    return in_ranges(erg_unicode_number, erg_unicode_number_count, cp);
}

bool erg_unicode_is_space(uint32_t cp) {
    return in_ranges(erg_unicode_space, erg_unicode_space_count, cp);
}

static bool byte_is_printable(unsigned b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t erg_unicode_byte_to_cp(uint8_t b) {
    if (byte_is_printable(b))
        return b;
    /* The non-printable bytes, in order, take U+0100, U+0101, ... */
    uint32_t n = 0;
    for (unsigned i = 0; i < b; i++)
        n += !byte_is_printable(i);
    return 256 + n;
}

int erg_unicode_cp_to_byte(uint32_t cp) {
    if (cp < 256)
        return byte_is_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) /* 68 bytes are not printable */
        return -1;
    uint32_t n = cp - 256;
    for (unsigned b = 0; b < 256; b++)
        if (!byte_is_printable(b) && n-- == 0)
            return (int)b;
    return -1;
}
