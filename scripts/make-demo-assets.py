#!/usr/bin/env python3
"""Generate vigil's fictional demo data set.

Writes, deterministically (same bytes on every run):
  assets/demo/screenshots/*.png   small flat-colour mock "screenshots" (no real text, no people)
  assets/demo/alerts.json         a JSON array of alert objects in feed protocol v1 form

Everything here is fictional: Harbour Point College, its students, staff, IDs, groups and hostnames
do not exist. Standard library only (zlib, struct, hashlib, json).

Usage: python3 scripts/make-demo-assets.py   (from anywhere; paths are relative to the repository)
"""

import hashlib
import json
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "assets", "demo")
SHOTS = os.path.join(DEMO, "screenshots")

# Path (relative to the feed base) of the screenshot that is referenced by the suspected-illegal alert
# and deliberately NOT written: tests use it to prove that vigil never fetches it.
NEVER_FETCH = "screenshots/never-fetch-suspected-illegal.png"


# --------------------------------------------------------------------------------------------------
# PNG encoder (RGB, 8-bit, no interlace, filter type 0 on every row)
# --------------------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(width, height, rgb):
    """rgb: bytes-like of length width*height*3, rows top to bottom."""
    assert len(rgb) == width * height * 3
    stride = width * 3
    raw = b"".join(b"\x00" + bytes(rgb[y * stride:(y + 1) * stride]) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(raw, 9))
            + png_chunk(b"IEND", b""))


# --------------------------------------------------------------------------------------------------
# Tiny drawing kit
# --------------------------------------------------------------------------------------------------

class Rng:
    """Deterministic pseudo-random numbers from SHA-256 (no `random`, so no version drift)."""

    def __init__(self, seed):
        self.seed = seed.encode()
        self.n = 0

    def int(self, lo, hi):
        d = hashlib.sha256(self.seed + struct.pack(">I", self.n)).digest()
        self.n += 1
        return lo + int.from_bytes(d[:4], "big") % (hi - lo + 1)


def hexrgb(s):
    s = s.lstrip("#")
    return (int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16))


GLYPHS = {  # 5x5 bitmap glyphs for the "DEMO" watermark
    "D": ["11110", "10001", "10001", "10001", "11110"],
    "E": ["11111", "10000", "11110", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "01110"],
}


class Canvas:
    def __init__(self, w, h, bg):
        self.w, self.h = w, h
        self.px = bytearray(bytes(hexrgb(bg)) * (w * h))

    def rect(self, x, y, w, h, colour):
        c = bytes(hexrgb(colour))
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.w, x + w), min(self.h, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        row = c * (x1 - x0)
        for yy in range(y0, y1):
            i = (yy * self.w + x0) * 3
            self.px[i:i + len(row)] = row

    def frame(self, x, y, w, h, colour):
        self.rect(x, y, w, 1, colour)
        self.rect(x, y + h - 1, w, 1, colour)
        self.rect(x, y, 1, h, colour)
        self.rect(x + w - 1, y, 1, h, colour)

    def text_lines(self, rng, x, y, w, n, colour, gap=6, height=3, last_short=True):
        """Grey bars standing for lines of text. Returns the y below the last line."""
        for i in range(n):
            lw = rng.int(w * 55 // 100, w)
            if last_short and i == n - 1:
                lw = rng.int(w // 4, w // 2)
            self.rect(x, y, lw, height, colour)
            y += gap
        return y

    def word(self, text, x, y, scale, colour):
        for ch in text:
            for r, bits in enumerate(GLYPHS[ch]):
                for c, b in enumerate(bits):
                    if b == "1":
                        self.rect(x + c * scale, y + r * scale, scale, scale, colour)
            x += 6 * scale

    def png(self):
        return encode_png(self.w, self.h, self.px)


def window(cv, title_colour, title="#ffffff", dark=False):
    """Title bar with three window buttons and a bar standing for the title text."""
    cv.rect(0, 0, cv.w, 12, title_colour)
    for i, col in enumerate(("#e06c5f", "#e8c15a", "#6cc070")):
        cv.rect(4 + i * 7, 4, 4, 4, col)
    cv.rect(cv.w // 2 - cv.w // 6, 5, cv.w // 3, 2, title)
    cv.frame(0, 0, cv.w, cv.h, "#3a3f47" if not dark else "#101216")


def watermark(cv, colour="#c9ccd2"):
    """'DEMO' in the bottom-right corner: these pictures are obviously fake."""
    cv.word("DEMO", cv.w - 4 - 23 * 2 - 2, cv.h - 4 - 10, 2, colour)


def browser_chrome(cv, rng, bar="#e3e6ea", field="#ffffff", dark=False):
    cv.rect(1, 12, cv.w - 2, 14, bar)
    for i in range(3):
        cv.rect(5 + i * 8, 17, 5, 4, "#9aa1ab")
    cv.rect(32, 15, cv.w - 44, 8, field)
    cv.rect(35, 17, 4, 4, "#4caf50")                        # padlock
    cv.rect(42, 18, rng.int(cv.w // 4, cv.w // 2), 2, "#8a919b" if not dark else "#6b7280")
    cv.rect(cv.w - 9, 17, 5, 4, "#9aa1ab")
    return 28


# --------------------------------------------------------------------------------------------------
# The mock screenshots
# --------------------------------------------------------------------------------------------------

def shot_search_results(w, h, seed, dark):
    rng = Rng(seed)
    bg = "#1f2329" if dark else "#ffffff"
    cv = Canvas(w, h, bg)
    window(cv, "#2b2f36" if dark else "#5a6472", dark=dark)
    y = browser_chrome(cv, rng, bar="#2b2f36" if dark else "#e3e6ea",
                       field="#3a3f47" if dark else "#ffffff", dark=dark)
    cv.rect(12, y + 6, w * 3 // 5, 10, "#3a3f47" if dark else "#f1f3f4")
    cv.frame(12, y + 6, w * 3 // 5, 10, "#5f6368" if dark else "#dadce0")
    cv.rect(16, y + 10, rng.int(30, w // 3), 2, "#9aa1ab")
    y += 24
    while y + 22 < h - 14:
        cv.rect(12, y, rng.int(w // 3, w * 2 // 3), 3, "#8ab4f8" if dark else "#1a0dab")
        cv.rect(12, y + 6, rng.int(w // 5, w // 3), 2, "#81c995" if dark else "#188038")
        cv.text_lines(rng, 12, y + 11, w - 40, 2, "#5f6368" if dark else "#b5bac1", gap=5, height=2)
        y += 26
    watermark(cv, "#3a3f47" if dark else "#dfe2e6")
    return cv


def shot_document_editor(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#e8eaed")
    window(cv, "#2a5699")
    cv.rect(1, 12, w - 2, 12, "#f3f3f3")
    for i in range(12):
        cv.rect(6 + i * 10, 15, 6, 6, "#c0c4ca" if i % 4 else "#2a5699")
    px, pw = w // 6, w * 2 // 3
    cv.rect(px, 30, pw, h - 30, "#ffffff")
    cv.frame(px, 30, pw, h - 30, "#d0d4da")
    cv.rect(px + 10, 40, pw // 2, 5, "#44474c")            # heading
    y = 52
    while y < h - 24:
        y = cv.text_lines(rng, px + 10, y, pw - 20, rng.int(2, 4), "#b5bac1", gap=6) + 5
    watermark(cv, "#c9ccd2")
    return cv


def shot_video_timeline(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#23262b")
    window(cv, "#17191c", title="#6b7280", dark=True)
    cv.rect(w // 4, 18, w // 2, h // 2 - 10, "#0d1b2a")       # preview monitor
    cv.rect(w // 4 + 8, 18 + h // 4 - 4, w // 2 - 16, 6, "#1b3a5c")
    cv.rect(4, 18, w // 4 - 10, h // 2 - 10, "#2d3137")       # media bin
    for i in range(4):
        cv.rect(8, 22 + i * 12, 14, 9, ("#7c5cbf", "#3f8fd2", "#d2813f", "#4caf50")[i])
        cv.rect(26, 25 + i * 12, rng.int(12, w // 4 - 34), 2, "#6b7280")
    ty = h // 2 + 14
    cv.rect(0, ty - 6, w, 1, "#3a3f47")
    for t, col in enumerate(("#3f8fd2", "#7c5cbf", "#4caf50")):
        x = 30
        cv.rect(4, ty + t * 14 + 3, 18, 4, "#6b7280")
        while x < w - 10:
            cw = rng.int(20, 70)
            cv.rect(x, ty + t * 14, min(cw, w - 10 - x), 10, col)
            x += cw + rng.int(2, 10)
    cv.rect(w * 3 // 5, ty - 8, 1, h - ty, "#e06c5f")            # playhead
    watermark(cv, "#3a3f47")
    return cv


def shot_chat(w, h, seed, sidebar):
    rng = Rng(seed)
    cv = Canvas(w, h, "#f5f6f8")
    window(cv, "#4a3f8c")
    x0 = 1
    if sidebar:
        cv.rect(1, 12, w // 4, h - 13, "#e4e2f0")
        for i in range((h - 20) // 18):
            cv.rect(6, 17 + i * 18, 10, 10, ("#c27ba0", "#6fa8dc", "#93c47d", "#f6b26b")[i % 4])
            cv.rect(20, 20 + i * 18, rng.int(10, w // 4 - 26), 3, "#9c98b8")
        x0 = w // 4 + 1
    cw = w - x0
    y = 18
    i = 0
    while y < h - 34:
        right = rng.int(0, 2) == 0
        bw = rng.int(cw * 2 // 5, cw * 3 // 4)
        lines = rng.int(1, 3)
        bh = 6 + lines * 6
        bx = x0 + cw - bw - 6 if right else x0 + 6
        cv.rect(bx, y, bw, bh, "#6b5fc7" if right else "#e1e3e8")
        cv.text_lines(rng, bx + 5, y + 5, bw - 10, lines,
                      "#c9c3f0" if right else "#a3a8b1", gap=6, height=2)
        y += bh + 6
        i += 1
    cv.rect(x0 + 4, h - 16, cw - 10, 11, "#ffffff")
    cv.frame(x0 + 4, h - 16, cw - 10, 11, "#c9ccd2")
    cv.rect(x0 + 8, h - 12, rng.int(10, cw // 2), 2, "#a3a8b1")
    watermark(cv, "#dcdde3")
    return cv


def shot_social_profile(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#ffffff")
    window(cv, "#5a6472")
    y = browser_chrome(cv, rng)
    cv.rect(1, y, w - 2, 34, "#2e7d6b")                      # banner
    cv.rect(12, y + 20, 26, 26, "#ffffff")
    cv.rect(14, y + 22, 22, 22, "#9fc5bd")                   # avatar: a flat square, nobody
    cv.rect(44, y + 38, rng.int(40, 70), 4, "#202124")
    cv.rect(44, y + 45, rng.int(30, 50), 2, "#9aa1ab")
    y += 56
    while y < h - 30:
        cv.rect(10, y, w - 20, 1, "#e3e6ea")
        cv.rect(10, y + 5, 8, 8, "#9fc5bd")
        cv.text_lines(rng, 22, y + 6, w - 40, 2, "#b5bac1", gap=6)
        y += 22
    watermark(cv, "#e3e6ea")
    return cv


def shot_forum_thread(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#eceff3")
    window(cv, "#5a6472")
    y = browser_chrome(cv, rng)
    cv.rect(1, y, w - 2, 12, "#37474f")
    cv.rect(8, y + 4, 40, 4, "#cfd8dc")
    y += 18
    while y < h - 30:
        ph = rng.int(24, 36)
        cv.rect(8, y, w - 16, ph, "#ffffff")
        cv.frame(8, y, w - 16, ph, "#d5dae0")
        cv.rect(12, y + 4, 12, 12, "#b0bec5")
        cv.rect(28, y + 4, rng.int(20, 50), 3, "#37474f")
        cv.text_lines(rng, 28, y + 11, w - 48, (ph - 12) // 7, "#b5bac1", gap=6, height=2)
        y += ph + 5
    watermark(cv, "#d5dae0")
    return cv


def shot_email_draft(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#ffffff")
    window(cv, "#0f6cbd")
    cv.rect(1, 12, w - 2, 14, "#f0f4f9")
    cv.rect(6, 15, 30, 8, "#0f6cbd")
    for i in range(4):
        cv.rect(42 + i * 12, 17, 8, 4, "#a9b7c8")
    y = 32
    for label in (14, 10, 26):
        cv.rect(8, y, label, 3, "#6b7280")
        cv.rect(40, y, rng.int(40, w // 2), 3, "#44474c")
        cv.rect(8, y + 7, w - 16, 1, "#e3e6ea")
        y += 12
    y += 4
    while y < h - 24:
        y = cv.text_lines(rng, 8, y, w - 30, rng.int(2, 3), "#b5bac1", gap=6) + 5
    watermark(cv, "#e3e6ea")
    return cv


def shot_notes(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#fff8d6")
    window(cv, "#b38f00")
    cv.rect(1, 12, w - 2, 10, "#f5e9a8")
    cv.rect(6, 15, 24, 4, "#b38f00")
    y = 28
    while y < h - 20:
        cv.rect(1, y + 4, w - 2, 1, "#f0e2a0")
        y = cv.text_lines(rng, 8, y, w - 24, 1, "#a39a72", gap=8, last_short=False)
    watermark(cv, "#efe3aa")
    return cv


def shot_shop_product(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#ffffff")
    window(cv, "#5a6472")
    y = browser_chrome(cv, rng)
    cv.rect(1, y, w - 2, 12, "#232f3e")
    cv.rect(8, y + 4, 30, 4, "#ff9900")
    y += 18
    iw = w * 2 // 5
    cv.rect(10, y, iw, h - y - 18, "#e3e6ea")                 # product picture placeholder
    cv.rect(10 + iw // 2 - 10, y + (h - y - 18) // 2 - 10, 20, 20, "#c9ccd2")
    x = 10 + iw + 10
    cv.rect(x, y + 2, rng.int(50, w - x - 20), 5, "#202124")
    cv.rect(x, y + 12, 34, 6, "#b12704")                      # price
    cv.text_lines(rng, x, y + 26, w - x - 12, 4, "#b5bac1", gap=6, height=2)
    cv.rect(x, y + 56, 60, 12, "#ffd814")                     # button
    cv.rect(x + 12, y + 61, 36, 2, "#6b5a00")
    watermark(cv, "#e3e6ea")
    return cv


def shot_game_launcher(w, h, seed):
    rng = Rng(seed)
    cv = Canvas(w, h, "#14122b")
    window(cv, "#0b0a19", title="#4b4870", dark=True)
    cv.rect(1, 12, w - 2, 10, "#201d42")
    cv.rect(6, 15, 28, 4, "#f2c14e")
    cols, rows = 4, 2
    tw, th = (w - 10 - (cols - 1) * 4) // cols, 26
    for r in range(rows):
        for c in range(cols):
            x, y = 5 + c * (tw + 4), 26 + r * (th + 4)
            cv.rect(x, y, tw, th, ("#7b2cbf", "#e63946", "#2a9d8f", "#f4a261")[(r * cols + c) % 4])
            cv.rect(x + 3, y + th - 6, rng.int(tw // 3, tw - 6), 2, "#ffffff")
    cv.rect(w // 2 - 24, h - 20, 48, 12, "#f2c14e")
    cv.rect(w // 2 - 14, h - 15, 28, 2, "#5c4400")
    watermark(cv, "#2a2752")
    return cv


# name -> (width, height, builder, caption)
SCREENSHOTS = {
    "search-results.png": (320, 200, lambda: shot_search_results(320, 200, "search-light", False),
                           "Search results page"),
    "search-results-dark.png": (240, 150, lambda: shot_search_results(240, 150, "search-dark", True),
                                "Search results page (dark theme)"),
    "document-editor.png": (320, 200, lambda: shot_document_editor(320, 200, "doc"),
                            "Document open in a word processor"),
    "video-timeline.png": (320, 180, lambda: shot_video_timeline(320, 180, "video"),
                           "Video editing timeline"),
    "chat-window.png": (200, 160, lambda: shot_chat(200, 160, "chat", False),
                        "One-to-one chat window"),
    "group-chat.png": (240, 180, lambda: shot_chat(240, 180, "group", True),
                       "Group chat with member list"),
    "social-profile.png": (240, 200, lambda: shot_social_profile(240, 200, "profile"),
                           "Public profile page"),
    "forum-thread.png": (320, 200, lambda: shot_forum_thread(320, 200, "forum"),
                         "Forum thread with comments"),
    "email-draft.png": (280, 180, lambda: shot_email_draft(280, 180, "email"),
                        "Unsent email draft"),
    "notes-app.png": (200, 140, lambda: shot_notes(200, 140, "notes"),
                      "Notes document"),
    "shop-product.png": (256, 160, lambda: shot_shop_product(256, 160, "shop"),
                         "Online shop product page"),
    "game-launcher.png": (160, 100, lambda: shot_game_launcher(160, 100, "casino"),
                          "Online casino-style games page"),
}


def write_screenshots():
    """Writes the PNGs; returns name -> (width, height, sha256 hex, caption)."""
    os.makedirs(SHOTS, exist_ok=True)
    meta = {}
    for name in sorted(SCREENSHOTS):
        w, h, build, caption = SCREENSHOTS[name]
        cv = build()
        assert (cv.w, cv.h) == (w, h)
        data = cv.png()
        with open(os.path.join(SHOTS, name), "wb") as f:
            f.write(data)
        meta[name] = (w, h, hashlib.sha256(data).hexdigest(), caption)
    return meta


# --------------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------------

SW = "smoothwall-monitor"
BT = "bridge-test"
DAYS = {"Mon": 9, "Tue": 10, "Wed": 11, "Thu": 12, "Fri": 13, "Sat": 14, "Sun": 15}


def ts(day, hhmm, sec=0):
    """'Tue', '17:00' -> RFC 3339 in Europe/London (GMT, +00:00, in November 2026)."""
    hh, mm = hhmm.split(":")
    return "2026-11-%02dT%s:%s:%02d+00:00" % (DAYS[day], hh, mm, sec)


def student(sid, name=None, group=None, username=None):
    s = {"kind": "student", "id": sid}
    if name:
        s["name"] = name
    if group:
        s["group"] = group
    if username:
        s["username"] = username
    return s


def staff(sid, name, group, username=None):
    s = {"kind": "staff", "id": sid, "name": name, "group": group}
    if username:
        s["username"] = username
    return s


def dev(hostname, owner="college", location="on-site"):
    return {"hostname": hostname, "owner": owner, "location": location}


# Recurring fictional people (a few students appear more than once: trends matter to a DSL).
ISLA = student("HPC240519", "Isla Curnow", "A-Level Psychology Y1", "i.curnow24")
ETHAN = student("HPC240804", "Ethan Dunstan", "L3 Business Y2", "e.dunstan24")
CALLUM = student("HPC240912", "Callum Vosper", "L3 Sport Y1")
MASON = student("HPC250104", "Mason Bray", "Tutor 11C")
DYLAN = student("HPC250142", "Dylan Hocking", "L1 Foundation Learning")
TEST_SUBJECT = student("TEST0001", "Bridge Test Student", "Test group")


def cap(day, hhmm, title, text, shot=None, sec=0, caption=None):
    """A capture. `shot` is a screenshot file name (resolved later) or None (-> null)."""
    return {"at": ts(day, hhmm, sec), "window_title": title, "text": text,
            "screenshot": shot if shot is None else {"$shot": shot, "$caption": caption}}


def alert(aid, day, hhmm, category, subject, summary, *, source=SW, risk=None, level=None,
          delivered_by=None, device=None, context=None, captures=None, revision=None,
          suspected_illegal=None, withdrawn=None):
    a = {"id": aid, "source": source}
    if revision is not None:
        a["revision"] = revision
    a["raised_at"] = ts(day, hhmm)
    if risk is not None:
        a["risk"] = risk
    if level is not None:
        a["level"] = level
    a["category"] = category
    if delivered_by is not None:
        a["delivered_by"] = delivered_by
    a["subject"] = subject
    if device is not None:
        a["device"] = device
    a["summary"] = summary
    if context is not None:
        a["context"] = context
    if captures is not None:
        a["captures"] = captures
    if suspected_illegal is not None:
        a["suspected_illegal"] = suspected_illegal
    if withdrawn is not None:
        a["withdrawn"] = withdrawn
    return a


# Hostile text for robustness demos: ANSI clear screen, OSC 52 clipboard write, bidi override, NUL.
HOSTILE_TITLE = "prank\u202etxt.exe\u0000 - Notes"
HOSTILE_TEXT = ("lol \u001b[2J your screen is gone \u001b]52;c;SGVsbG8=\u0007 gotcha "
                "\u001b[31mRED\u001b[0m\u0000 \u202eeno desrever")
HOSTILE_TITLE_2 = "Class chat \u001b[2J- Messaging"
HOSTILE_TEXT_2 = "check ur clipboard \u001b]52;c;SGVsbG8=\u0007 \u202e))))"

DRUGS_REV1_SUMMARY = ("Student searched for where to buy THC vapes locally, in a context suggesting "
                      "possible personal use.")
DRUGS_REV1_CONTEXT = ("The search was followed by a visit to a social media page advertising vapes. "
                      "No messages about buying or selling were seen at the time of the alert.")
DRUGS_CAPTURES = [
    cap("Tue", "11:44", "thc vape near me - Search - Web Browser", "thc vape near me harbour point",
        "search-results-dark.png"),
    cap("Tue", "11:46", "Vapes & more - Product - Web Browser", "", "shop-product.png",
        caption="Product page for vapes"),
]


def build_alerts():
    A = []

    # ---------------------------------------------------------------- Monday 9 November 2026
    A.append(alert(
        "SW-2026-004501", "Mon", "00:47", "general-risk",
        student("HPC240233", "Kai Okonkwo", "L3 Sport Y2", "k.okonkwo24"),
        "Student searched for how long a person can go without sleep, in a context suggesting curiosity "
        "during a late-night gaming session rather than a concern for their welfare.",
        risk=2, delivered_by="dashboard", device=dev("HPC-LAP-0412", "college", "off-site"),
        context="The searches sat between game guides and a sports nutrition page. No related messages "
                "or typed text were found. Raised for awareness because of the time of night on a loan laptop.",
        captures=[cap("Mon", "00:44", "how long can you stay awake - Search - Web Browser",
                      "how long can you stay awake without sleep", "search-results.png")]))

    A.append(alert(
        "SW-2026-004502", "Mon", "08:29", "drugs",
        student("HPC240388", "Lewis Carne", "L2 Public Services Y1", "l.carne24"),
        "Student searched for the effects of mixing alcohol and cannabis, in a context suggesting possible "
        "personal use at the weekend.",
        risk=3, delivered_by="email", device=dev("HPC-LIB-PC07"),
        context="The search followed messages to a friend about Saturday and who was 'bringing stuff'. "
                "No supply or quantities were mentioned. A same-day conversation to understand the context "
                "is suggested.",
        captures=[
            cap("Mon", "08:26", "mixing weed and alcohol - Search - Web Browser",
                "what happens if you mix weed and alcohol", "search-results-dark.png"),
            cap("Mon", "08:28", "Messages - Web Browser", "whos bringing stuff sat", None, sec=41),
        ]))

    A.append(alert(
        "SW-2026-004503", "Mon", "09:12", "violence",
        student("HPC240117", "Amelia Tregear", "L3 Media Y2", "a.tregear24"),
        "Student typed the words 'shot' and 'kill' in a document, in a context suggesting film production "
        "planning (a shot list) rather than any intent to harm.",
        risk=1, delivered_by="dashboard", device=dev("HPC-MED-PC14"),
        context="The document is a shot list for the student's final major project; 'kill the lights' is a "
                "stage direction. Likely a false positive.",
        captures=[
            cap("Mon", "09:10", "Shot list - FMP - Document Editor",
                "Shot 12: wide shot, kill the lights, actor falls out of frame", "document-editor.png",
                caption="Shot list document"),
            cap("Mon", "09:11", "FMP_edit_v3 - Video Editor", "export shot_12_v3", "video-timeline.png"),
        ]))

    A.append(alert(
        "SW-2026-004504", "Mon", "10:40", "weapons",
        student("HPC240452", "Oliver Jenkin", "A-Level History Y2"),
        "Student searched for First World War rifles and bayonets, in a context suggesting coursework "
        "research.",
        risk=2, delivered_by="dashboard", device=dev("HPC-HUM-PC03"),
        context="The course reading list and an online archive of trench photographs were open in other "
                "tabs. Non-harmful curiosity.",
        captures=[cap("Mon", "10:38", "ww1 rifles bayonets - Search - Web Browser",
                      "ww1 british rifle bayonet", "search-results.png")]))

    A.append(alert(
        "SW-2026-004505", "Mon", "11:55", "discrimination", MASON,
        "Student used discriminatory language about a religious group in a class group chat, in a context "
        "suggesting a generic insult that was not directed at a specific person.",
        risk=3, delivered_by="email",
        context="Other members of the chat challenged the comment. The term has been redacted by the "
                "moderator in the capture below.",
        captures=[cap("Mon", "11:54", "Tutor 11C chat - Messaging",
                      "[term redacted by moderator] lol thats so [term redacted by moderator]",
                      "group-chat.png")]))

    A.append(alert(
        "SW-2026-004506", "Mon", "13:20", "self-harm", ISLA,
        "Student typed a note stating an intention to hurt themselves this evening, in a context "
        "suggesting a current risk of self-harm.",
        risk=5, delivered_by="phone", device=dev("HPC-LIB-PC11"),
        context="The note was written in a personal notes document during a study period and says the "
                "student feels unable to cope and plans to hurt themselves after college. Moderators phoned "
                "the DSL contact at 13:24. The student was logged in at a library PC at the time.",
        captures=[
            cap("Mon", "13:16", "Untitled note - Notes",
                "I can't keep doing this. I'm going to hurt myself tonight when I get home.",
                "notes-app.png"),
            cap("Mon", "13:18", "how to stop feeling like this - Search - Web Browser",
                "how to stop feeling like this", None),
        ]))

    A.append(alert(
        "SW-2026-004507", "Mon", "14:05", "sexual-content",
        student("HPC240276", "Chloe Treloar", "L3 Health & Social Care Y1"),
        "Student searched for information about contraception and sexually transmitted infections, in a "
        "context suggesting coursework on sexual health services.",
        level="low", delivered_by="dashboard", device=dev("HPC-HSC-PC08"),
        context="The Unit 5 (health promotion) assignment brief was open in another tab. No concern "
                "identified.",
        captures=[cap("Mon", "14:03", "sexual health clinic services - Search - Web Browser",
                      "sexual health services young people contraception", "search-results.png")]))

    A.append(alert(
        "SW-2026-004508", "Mon", "15:30", "drugs",
        staff("STF0042", "Daniel Rowse", "Humanities", "d.rowse"),
        "Staff member searched for county lines and cannabis slang terms, in a context suggesting "
        "preparation of a tutorial lesson.",
        risk=1, delivered_by="dashboard", device=dev("HPC-STF-LT0042"),
        context="A slide deck titled 'Tutorial week 10 - county lines awareness' was open. Raised because "
                "of the search terms only.",
        captures=[
            cap("Mon", "15:27", "county lines slang - Search - Web Browser",
                "county lines drug slang list for teachers", "search-results-dark.png"),
            cap("Mon", "15:29", "Tutorial week 10 - county lines - Slides",
                "Signs someone is being exploited", None),
        ]))

    A.append(alert(
        "SW-2026-004509", "Mon", "16:10", "violence",
        student("HPC250061", "Jack Polglase", "L2 Construction Y1", "j.polglase25"),
        "Student searched for how hard you need to hit someone to knock them out, in a context suggesting "
        "an interest in fighting rather than a sport.",
        risk=4, delivered_by="email", device=dev("HPC-CON-PC02"),
        context="The searches followed messages about 'sorting someone out' after college; no name was "
                "given. No boxing or martial arts pages were visited.",
        captures=[
            cap("Mon", "16:06", "Messages - Web Browser", "gonna sort him out after", None),
            cap("Mon", "16:08", "knock someone out - Search - Web Browser",
                "how hard do you have to hit someone to knock them out", "search-results.png"),
        ]))

    A.append(alert(
        "SW-2026-004510", "Mon", "19:45", "bullying",
        student("HPC240611", "Ruby Tonkin", "Tutor 12A", "r.tonkin24"),
        "Student sent repeated unkind messages about a classmate's appearance in a group chat, in a context "
        "suggesting an ongoing pattern of bullying.",
        risk=3, delivered_by="email", device=dev("HPC-LAP-0388", "college", "off-site"),
        context="Three messages over twenty minutes mocked another student's clothes and weight; others "
                "reacted with laughing emoji. The other student is not a member of the chat.",
        captures=[
            cap("Mon", "19:31", "the girls - Messaging", "did u see what she wore today", "group-chat.png"),
            cap("Mon", "19:44", "the girls - Messaging", "shes actually so embarrassing", "group-chat.png",
                sec=12, caption="Group chat, later in the same session"),
        ]))

    A.append(alert(
        "SW-2026-004511", "Mon", "22:18", "oversharer", DYLAN,
        "Student posted their home address and mobile number on a public gaming forum profile, in a context "
        "suggesting they did not realise the profile is public.",
        risk=2, delivered_by="dashboard", device=dev("Galaxy-A15-7F3C", "personal", "off-site"),
        context="No contact from unknown adults was seen. A reminder about keeping personal details private "
                "is suggested.",
        captures=[cap("Mon", "22:15", "Edit profile - Web Browser",
                      "location: 14 [redacted], Harbour Point. call me 07700 900[redacted]",
                      "social-profile.png")]))

    # ---------------------------------------------------------------- Tuesday 10 November 2026
    A.append(alert(
        "BT-2026-0001", "Tue", "07:55", "general-risk", TEST_SUBJECT,
        "Bridge connectivity test. This alert is generated by the bridge's self-test and needs no action.",
        source=BT, level="low"))

    A.append(alert(
        "SW-2026-004513", "Tue", "09:05", "terrorism-extremism",
        student("HPC240733", "Grace Opie", "A-Level Politics Y2"),
        "Student searched for the history of a 1970s bombing campaign, in a context suggesting essay "
        "research for A-Level Politics.",
        risk=1, delivered_by="dashboard", device=dev("HPC-HUM-PC05"),
        context="The essay title 'How effective is political violence?' was open in the document editor. "
                "No extremist material was accessed.",
        captures=[
            cap("Tue", "09:01", "Essay draft - Document Editor", "How effective is political violence?",
                "document-editor.png"),
            cap("Tue", "09:04", "1970s bombing campaign history - Search - Web Browser",
                "1970s mainland bombing campaign history", "search-results.png"),
        ]))

    A.append(alert(
        "SW-2026-004514", "Tue", "10:30", "offensive-user",
        student("HPC250027", "Harvey Jago", "L2 Engineering Y1"),
        "Student repeatedly typed offensive language and crude insults into a shared class document, in a "
        "context suggesting an attempt to provoke others in the group.",
        risk=3, delivered_by="email", device=dev("HPC-ENG-PC09"),
        context="Another student deleted the comments within a minute. They were not aimed at one person.",
        captures=[cap("Tue", "10:28", "Group project - Document Editor",
                      "[offensive language redacted by moderator]", "document-editor.png")]))

    A.append(alert(
        "SW-2026-004515", "Tue", "11:47", "drugs", ETHAN, DRUGS_REV1_SUMMARY,
        revision=1, risk=3, delivered_by="email", device=dev("HPC-BUS-PC12"),
        context=DRUGS_REV1_CONTEXT, captures=json.loads(json.dumps(DRUGS_CAPTURES))))

    A.append(alert(
        "SW-2026-004516", "Tue", "12:15", "vulnerable-person",
        student("HPC250188", "Sofia Nowak", "ESOL Entry 3"),
        "Student searched for an online 'am I depressed' quiz, in a context suggesting curiosity during a "
        "wellbeing tutorial.",
        risk=2, device=dev("HPC-LIB-PC03"),
        context="The tutorial slides on mental health were open in another tab. No concerning typed text.",
        captures=[cap("Tue", "12:13", "am i depressed quiz - Search - Web Browser",
                      "am i depressed quiz", "search-results-dark.png")]))

    A.append(alert(
        "SW-2026-004517", "Tue", "13:33", "grooming",
        student("HPC250215", "Maisie Rowe", "L2 Hair & Beauty Y1", "m.rowe25"),
        "Student is messaging an adult met on a gaming platform who is asking to meet in person and to keep "
        "the contact secret, in a context suggesting grooming.",
        risk=5, delivered_by="phone", device=dev("HPC-LAP-0455"),
        context="The other person says he is 22, has sent gifts of in-game currency and asked the student to "
                "move to a private messaging app. No images were exchanged in the captured session. "
                "Moderators phoned the DSL contact at 13:36.",
        captures=[
            cap("Tue", "13:25", "Friends - Game Chat", "u cant tell anyone about us ok", "chat-window.png"),
            cap("Tue", "13:31", "Friends - Game Chat", "meet me saturday, i'll pick u up", "chat-window.png",
                sec=30, caption="Chat window, six minutes later"),
        ]))

    A.append(alert(
        "SW-2026-004518", "Tue", "14:50", "gambling",
        {"kind": "unknown", "id": "UNIDENTIFIED", "username": "libguest03"},
        "An unidentified user on a library kiosk visited online casino and sports betting sites, in a "
        "context suggesting a shared guest login not linked to a student record.",
        risk=2, delivered_by="dashboard", device=dev("HPC-LIB-KIOSK03"),
        context="The kiosk uses a shared guest account, so the user could not be identified. The session "
                "lasted about ten minutes; no payment pages were reached.",
        captures=[cap("Tue", "14:47", "Lucky Harbour Slots - Web Browser", "free spins no deposit",
                      "game-launcher.png")]))

    A.append(alert(
        "SW-2026-004519", "Tue", "17:00", "weapons", CALLUM,
        "Student searched for how to buy a knife online when under 18, in a context suggesting an attempt "
        "to get around age checks.",
        risk=4, delivered_by="email", device=dev("HPC-LAP-0301"),
        context="No threats or named people appeared in the session. The searches followed a video about "
                "'everyday carry' knives.",
        captures=[
            cap("Tue", "16:55", "buy knife under 18 - Search - Web Browser",
                "buy knife online under 18 no id", "search-results.png"),
            cap("Tue", "16:58", "Folding knife - Product - Web Browser", "", "shop-product.png",
                caption="Product page for a folding knife"),
        ]))

    # ---------------------------------------------------------------- Wednesday 11 November 2026
    A.append(alert(
        "SW-2026-004520", "Wed", "02:14", "suicide",
        student("HPC240650", "Evie Angove", "A-Level English Y2", "e.angove24"),
        "Student searched for information about ending their life and typed a message saying they have a "
        "plan, in a context suggesting an immediate risk of suicide.",
        risk=5, delivered_by="phone", device=dev("HPC-LAP-0290", "college", "off-site"),
        context="Searches between 01:55 and 02:12 related to suicide; the moderator has withheld the specific "
                "terms. The student then typed a goodbye-style message in a notes document. Moderators phoned "
                "the out-of-hours emergency contact at 02:19 and advised contacting the emergency services.",
        captures=[
            cap("Wed", "02:08", "[withheld by moderator] - Search - Web Browser",
                "[search terms withheld by moderator]", None),
            cap("Wed", "02:12", "Untitled note - Notes", "I've decided. I'm sorry to everyone.",
                "notes-app.png"),
        ]))

    A.append(alert(
        "SW-2026-004521", "Wed", "08:45", "bullying",
        student("HPC250077", "Noah Bennetto", "Tutor 11A"),
        "Student called a friend 'useless' and 'a loser' in chat, in a context suggesting friendly banter "
        "about a football match.",
        risk=2, delivered_by="dashboard",
        context="Withdrawn by the vendor: on review the exchange was mutual banter between friends and did "
                "not meet the threshold for an alert.",
        captures=[cap("Wed", "08:44", "Messages - Web Browser", "ur so useless in goal, loser",
                      "chat-window.png")],
        withdrawn=True))

    A.append(alert(
        "SW-2026-004522", "Wed", "09:20", "discrimination",
        student("HPC240377", "Aaron Kessell", "L3 IT Y2", "a.kessell24"),
        "Student used a homophobic slur as a general insult in a game's text chat during a break, not "
        "directed at a specific person.",
        risk=2, level="medium", delivered_by="email", device=dev("HPC-IT-PC04"),
        context="The word was typed twice. Nobody in the chat appeared to be targeted. The vendor scored this "
                "2; the bridge set the level to medium, as general discriminatory language is medium under the "
                "college procedure.",
        captures=[cap("Wed", "09:18", "Match lobby - Game Chat", "[slur redacted by moderator] team lol",
                      None)]))

    # Revision 2 of SW-2026-004515, published by the vendor on Wednesday morning after the moderator
    # reviewed the rest of the session. raised_at is the original event time; the object sits in the
    # array where the revision was published (after revision 1).
    rev2_captures = json.loads(json.dumps(DRUGS_CAPTURES)) + [
        cap("Tue", "11:52", "Messages - Web Browser", "can sort u one for 20, 2 if u want", "chat-window.png",
            caption="Messages to a peer, five minutes after the search"),
    ]
    A.append(alert(
        "SW-2026-004515", "Tue", "11:47", "drugs", ETHAN,
        "Student searched for where to buy THC vapes locally and then messaged two peers offering to 'sort "
        "them out', in a context suggesting possible supply to other students.",
        revision=2, risk=4, delivered_by="email", device=dev("HPC-BUS-PC12"),
        context="Moderator update: further review of the session found messages to two peers offering vapes "
                "for cash, sent from the same PC five minutes after the search. This replaces the earlier "
                "assessment of personal use.",
        captures=rev2_captures))

    A.append(alert(
        "SW-2026-004523", "Wed", "10:05", "offensive-user",
        staff("STF0117", "Helen Kitto", "Business Support", "h.kitto"),
        "Staff member drafted an email containing offensive language about a colleague, in a context "
        "suggesting frustration at work; the email was not sent.",
        risk=3, delivered_by="email", device=dev("HPC-STF-LT0117"),
        context="The draft was deleted after a few minutes. No students were mentioned.",
        captures=[cap("Wed", "10:02", "RE: rota changes - Draft - Mail",
                      "[offensive language redacted by moderator]", "email-draft.png")]))

    A.append(alert(
        "SW-2026-004524", "Wed", "11:30", "weapons",
        student("HPC250131", "Ryan Penhale", "L3 Public Services Y1"),
        "Student searched for police firearms officer training and entry requirements, in a context "
        "suggesting careers research.",
        risk=1, device=dev("HPC-PS-PC06")))

    A.append(alert(
        "SW-2026-004525", "Wed", "12:40", "offensive-user",
        student("HPC250299", "Kacper Wi\u015bniewski", "T-Level Digital Y1", "k.wisniewski25"),
        "Student pasted a 'prank' script containing hidden control characters and mild swearing into a "
        "chat, in a context suggesting a joke among classmates on the same course.",
        risk=2, delivered_by="dashboard", device=dev("HPC-IT-PC17"),
        context="The pasted text contains terminal escape sequences and reversed-text characters; the "
                "moderator has kept it exactly as typed. No one was targeted.",
        captures=[
            cap("Wed", "12:38", HOSTILE_TITLE, HOSTILE_TEXT, "notes-app.png",
                caption="Notes \u202e window\u001b[2J with pasted text"),
            cap("Wed", "12:39", HOSTILE_TITLE_2, HOSTILE_TEXT_2, None),
        ]))

    A.append(alert(
        "SW-2026-004526", "Wed", "14:15", "violence",
        student("HPC240845", "Tom Pascoe", "L2 Motor Vehicle Y1", "t.pascoe24"),
        "Student sent a message naming another student and saying they will 'get it' after college, in a "
        "context suggesting a planned fight today.",
        risk=3, delivered_by="phone", device=dev("Pixel-7a-3B1E", "personal", "on-site"),
        context="The vendor risk is 3 because no weapon was mentioned, but moderators phoned because the "
                "threat names a person, a place and a time (16:30 at the bus station).",
        captures=[cap("Wed", "14:12", "Messages - Web Browser",
                      "[name redacted] ur getting it after college, bus station 4.30", "chat-window.png")]))

    A.append(alert(
        "SW-2026-004527", "Wed", "15:55", "sexual-content",
        student("HPC250240", "Leah Morcom", "L2 Business Y1"),
        "Student accessed an adult website on a library PC, in a context suggesting deliberate attempts to "
        "get past the web filter.",
        risk=3, delivered_by="email", device=dev("HPC-LIB-PC09"),
        context="The page was blocked after loading; the student then tried two proxy sites. The capture of "
                "the adult page has been withheld by the moderator.",
        captures=[
            cap("Wed", "15:51", "free proxy unblock - Search - Web Browser", "free proxy unblock sites",
                "search-results-dark.png"),
            cap("Wed", "15:53", "[withheld by moderator]", "", None),
        ]))

    A.append(alert(
        "SW-2026-004528", "Wed", "21:40", "drugs",
        student("HPC240970", "Lily Pengelly", "A-Level Biology Y1", "l.pengelly24"),
        "Student searched whether caffeine counts as a drug and how many energy drinks are safe, in a "
        "context suggesting curiosity while revising late.",
        risk=2, delivered_by="dashboard", device=dev("HPC-LAP-0333", "college", "off-site"),
        captures=[cap("Wed", "21:38", "is caffeine a drug - Search - Web Browser",
                      "is caffeine a drug how many energy drinks safe", "search-results.png")]))

    # ---------------------------------------------------------------- Thursday 12 November 2026
    A.append(alert(
        "SW-2026-004529", "Thu", "08:35", "vulnerable-person",
        student("HPC240566", "Zainab Hussain", "A-Level Sociology Y2", "z.hussain24"),
        "Student wrote in a personal journal document that arguments at home make it hard to sleep and that "
        "she does not want to go home, in a context suggesting a possible need for support.",
        risk=4, delivered_by="email", device=dev("HPC-LAP-0410"),
        context="No immediate danger is described and no one is named as hurting her. A same-day or next-day "
                "conversation is suggested.",
        captures=[cap("Thu", "08:31", "journal - Document Editor",
                      "another night of shouting. i really don't want to go home after college.",
                      "document-editor.png", caption="Personal journal document")]))

    A.append(alert(
        "SW-2026-004530", "Thu", "09:50", "violence",
        student("HPC250012", "Freya Nance", "Tutor 11B"),
        "Student typed 'I'm going to kill you' to a friend, in a context suggesting a joke after losing an "
        "online quiz.",
        risk=2, delivered_by="dashboard", device=dev("HPC-SCI-PC02"),
        captures=[cap("Thu", "09:49", "Quiz results - Web Browser", "noooo im going to kill you ella",
                      None)]))

    A.append(alert(
        "SW-2026-004531", "Thu", "11:10", "terrorism-extremism",
        student("HPC240702", "Jordan Fletcher", "L3 Games Design Y2", "j.fletcher24"),
        "Student watched extremist propaganda videos and typed comments supporting violence against a group, "
        "in a context suggesting a risk of radicalisation.",
        level="high", delivered_by="phone", device=dev("HPC-LAP-0276"),
        context="The comments praised a recent attack abroad and used language associated with an extreme "
                "right-wing movement. Moderators phoned the DSL contact. A Prevent consultation may be "
                "appropriate.",
        captures=[
            cap("Thu", "10:58", "[channel name withheld] - Video - Web Browser", "", "search-results-dark.png",
                caption="Video listing (thumbnails removed by moderator)"),
            cap("Thu", "11:06", "Comments - Forum - Web Browser",
                "[comment supporting violence withheld by moderator]", "forum-thread.png"),
            cap("Thu", "11:08", "Comments - Forum - Web Browser", "they deserved it", None),
        ]))

    A.append(alert(
        "SW-2026-004532", "Thu", "13:00", "self-harm",
        staff("STF0208", "Sarah Quick", "Pastoral Team", "s.quick"),
        "Staff member searched for how to respond when a student discloses self-harm, in a context "
        "suggesting preparation for a pastoral conversation.",
        risk=2, delivered_by="dashboard", device=dev("HPC-STF-LT0208"),
        captures=[cap("Thu", "12:57", "responding to self-harm disclosure - Search - Web Browser",
                      "how to respond when a student discloses self harm", "search-results.png")]))

    A.append(alert(
        "SW-2026-004533", "Thu", "14:25", "bullying",
        student("HPC250166", "Niamh Gallagher", "L2 Health & Social Care Y1"),
        "Student created an online poll ranking classmates by appearance and shared it in a class chat, in a "
        "context suggesting targeted unkindness.",
        risk=3, delivered_by="email", device=dev("HPC-HSC-PC03"),
        context="Five classmates are named in the poll. Two replied asking for it to be taken down.",
        captures=[
            cap("Thu", "14:20", "Create poll - Web Browser", "rank the class [names redacted]",
                "social-profile.png", caption="Poll page"),
            cap("Thu", "14:24", "HSC chat - Messaging", "vote lol", "group-chat.png"),
        ]))

    A.append(alert(
        "BT-2026-0002", "Thu", "16:20", "violence", TEST_SUBJECT,
        "Bridge test: a sample medium alert with one capture, to check the screenshot path end to end.",
        source=BT, risk=4,
        captures=[{"at": ts("Thu", "16:19"), "window_title": "Bridge test window", "text": "bridge test",
                   "screenshot": {"$shot": "search-results-dark.png", "$minimal": True}}]))

    A.append(alert(
        "SW-2026-004535", "Thu", "23:05", "self-harm", ISLA,
        "Student searched for how to hide scars and cover marks on her arms, in a context suggesting past "
        "self-harm.",
        risk=3, delivered_by="email", device=dev("IPAD-7C21", "personal", "off-site"),
        context="No intention to self-harm tonight was expressed. The same student was the subject of a "
                "self-harm alert on Monday.",
        captures=[cap("Thu", "23:02", "cover scars on arms - Search - Web Browser",
                      "how to cover scars on arms", "search-results-dark.png")]))

    # ---------------------------------------------------------------- Friday 13 November 2026
    A.append(alert(
        "SW-2026-004536", "Fri", "09:00", "discrimination", MASON,
        "Student posted racist abuse directed at a named classmate in a group chat, in a context suggesting "
        "a targeted campaign of hate.",
        risk=5, delivered_by="phone",
        context="Four messages over the morning used racial slurs about one student and encouraged others to "
                "join in; the targeted student is a member of the chat. Moderators phoned because of the "
                "explicit, targeted nature. The same student had a general discrimination alert on Monday.",
        captures=[
            cap("Fri", "08:41", "Tutor 11C chat - Messaging", "[racist abuse redacted by moderator]",
                "group-chat.png"),
            cap("Fri", "08:52", "Tutor 11C chat - Messaging", "everyone say it to [name redacted]", None),
            cap("Fri", "08:58", "Tutor 11C chat - Messaging", "[racist abuse redacted by moderator]",
                "group-chat.png", caption="Group chat, third message"),
        ]))

    A.append(alert(
        "SW-2026-004537", "Fri", "10:45", "weapons",
        student("HPC240921", "Theo Rosewarne", "L3 Games Design Y1"),
        "Student searched for reference images of medieval swords, in a context suggesting 3D modelling "
        "coursework.",
        risk=2, delivered_by="dashboard", device=dev("HPC-GAM-PC11"),
        captures=[cap("Fri", "10:43", "medieval sword reference - Search - Web Browser",
                      "medieval longsword reference sheet", "search-results.png")]))

    A.append(alert(
        "SW-2026-004538", "Fri", "12:30", "illegal-content",
        student("HPC240699", "Reece Carlyon", "L3 IT Y1", "r.carlyon24"),
        "Moderators suspect the user viewed illegal imagery. The vendor has withheld the image: it must not "
        "be opened, copied or shown.",
        risk=5, delivered_by="phone", device=dev("HPC-LIB-PC14"),
        context="The library PC was in use by this account between 12:10 and 12:29. Moderators phoned the DSL "
                "contact at 12:33 and advise that the device is not used until it has been secured.",
        captures=[
            cap("Fri", "12:26", "[withheld by moderator]", "[withheld by moderator]", "$NEVER_FETCH"),
            cap("Fri", "12:28", "[withheld by moderator]", "[withheld by moderator]", None),
        ],
        suspected_illegal=True))

    A.append(alert(
        "SW-2026-004539", "Fri", "14:10", "vulnerable-person",
        staff("STF0093", "Mark Eddy", "Estates"),
        "Staff member searched for debt help and for 'not coping at work', in a context suggesting personal "
        "distress.",
        risk=4, delivered_by="email", device=dev("HPC-STF-LT0093"),
        context="No risk to students was identified and no self-harm or suicide terms were used.",
        captures=[cap("Fri", "14:07", "not coping at work debt - Search - Web Browser",
                      "debt help not coping at work", "search-results.png")]))

    A.append(alert(
        "BT-2026-0003", "Fri", "17:30", "general-risk", TEST_SUBJECT,
        "End-of-week bridge test. No action needed.",
        source=BT, level="low", captures=[]))

    # ---------------------------------------------------------------- Saturday 14 November 2026
    A.append(alert(
        "SW-2026-004541", "Sat", "11:20", "drugs", ETHAN,
        "Student messaged about selling 'bars' (illicit tablets) to other students on Monday, in a context "
        "suggesting possible supply of drugs.",
        risk=4, delivered_by="email", device=dev("HPC-LAP-0366", "college", "off-site"),
        context="Prices and a meeting place near college were discussed. The same student was the subject of "
                "a drugs alert on Tuesday.",
        captures=[cap("Sat", "11:17", "Messages - Web Browser", "got bars for monday, 5 each, meet by the gate",
                      "chat-window.png")]))

    A.append(alert(
        "SW-2026-004542", "Sat", "21:10", "vulnerable-person", DYLAN,
        "Student messaged a friend that he has been told to leave home and has nowhere to stay tonight, in a "
        "context suggesting he may be homeless and at immediate risk.",
        risk=5, delivered_by="phone", device=dev("Galaxy-A15-7F3C", "personal", "unknown"),
        context="The student said his phone battery was low and he was 'walking about'. Moderators phoned the "
                "out-of-hours contact at 21:14.",
        captures=[
            cap("Sat", "21:02", "Messages", "mum kicked me out. got nowhere to go tonight", None),
            cap("Sat", "21:08", "Messages", "phone on 5% just walking about", None),
        ]))

    A.append(alert(
        "SW-2026-004543", "Sat", "23:50", "weapons", CALLUM,
        "Student messaged that he will bring a knife to college on Monday 'for protection' because of a "
        "dispute, in a context suggesting a real intention to carry a weapon.",
        risk=5, delivered_by="phone", device=dev("HPC-LAP-0301", "college", "off-site"),
        context="The messages name no target but refer to 'the lads from the bus station'. The same student "
                "searched for buying a knife on Tuesday. Moderators phoned the out-of-hours contact.",
        captures=[cap("Sat", "23:46", "Messages - Web Browser", "bringing my blade monday, for protection",
                      "chat-window.png")]))

    # ---------------------------------------------------------------- Sunday 15 November 2026
    A.append(alert(
        "SW-2026-004544", "Sun", "10:15", "grooming",
        staff("STF0150", "Gareth Libby", "Media & Creative Arts", "g.libby"),
        "Staff member is messaging a student on a personal messaging app, with compliments and requests to "
        "keep the conversation private, in a context suggesting a breach of professional boundaries that may "
        "amount to grooming.",
        risk=5, delivered_by="phone", device=dev("HPC-STF-LT0150", "college", "off-site"),
        context="The student appears to be in the staff member's L3 Media class. No images were seen. "
                "Moderators phoned the DSL contact.",
        captures=[
            cap("Sun", "10:02", "Messages - Web Browser", "you're so mature for your age", "chat-window.png"),
            cap("Sun", "10:11", "Messages - Web Browser", "best not mention this to anyone at college", None),
        ]))

    A.append(alert(
        "SW-2026-004545", "Sun", "16:30", "general-risk",
        student("HPC250310", "Oscar Hendra", "L2 Sport Y1"),
        "Student searched for how to survive a night outdoors and how to light a fire safely, in a context "
        "suggesting preparation for a Duke of Edinburgh expedition.",
        level="low", delivered_by="dashboard", device=dev("CHROMEBOOK-22E9", "personal", "unknown"),
        captures=[cap("Sun", "16:27", "wild camping tips - Search - Web Browser",
                      "how to light a fire safely wild camping dofe", "search-results.png")]))

    return A


def resolve_screenshots(alerts, meta):
    """Replace the {"$shot": name} placeholders by full screenshot objects."""
    for a in alerts:
        for c in a.get("captures", []):
            s = c.get("screenshot")
            if s is None:
                continue
            name = s["$shot"]
            if name == "$NEVER_FETCH":
                c["screenshot"] = {
                    "url": NEVER_FETCH,
                    "media_type": "image/png",
                    "width": 320,
                    "height": 200,
                    "sha256": hashlib.sha256(b"vigil demo: this screenshot does not exist").hexdigest(),
                    "caption": "Withheld by the vendor (suspected illegal content): must never be fetched",
                }
                continue
            w, h, digest, caption = meta[name]
            if s.get("$minimal"):
                # Only the required fields, to exercise the optional ones being absent.
                c["screenshot"] = {"url": "screenshots/" + name, "media_type": "image/png"}
                continue
            c["screenshot"] = {
                "url": "screenshots/" + name,
                "media_type": "image/png",
                "width": w,
                "height": h,
                "sha256": digest,
                "caption": s.get("$caption") or caption,
            }


# Characters written as \uXXXX escapes even though the rest of the file is UTF-8: C0/C1 controls
# (json already escapes C0), DEL, bidi controls, zero-width and line/paragraph separators.
INVISIBLE = set(range(0x7F, 0xA0)) | {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029,
                                      0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060,
                                      0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF}


def to_json(obj):
    text = json.dumps(obj, ensure_ascii=False, indent=2)
    return "".join("\\u%04x" % ord(ch) if ord(ch) in INVISIBLE else ch for ch in text) + "\n"


def main():
    meta = write_screenshots()
    alerts = build_alerts()
    resolve_screenshots(alerts, meta)
    out = to_json(alerts)
    assert json.loads(out) == alerts
    with open(os.path.join(DEMO, "alerts.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(out)
    print("wrote %d screenshots and %d alert objects to %s"
          % (len(meta), len(alerts), os.path.relpath(DEMO, os.getcwd())))


if __name__ == "__main__":
    main()
