"""Accessibility of the built site, in Debian's Chromium (driven by Playwright, on localhost only).

- An axe-core audit of every page: the chapter pages the navigation links to and the notebook pages
  under /notebooks/, each 1440 and 390 px wide, in the light and the dark palette (set the way a
  reader's system sets it: prefers-color-scheme). No serious or critical violation is allowed.
  Moderate and minor ones are counted in test-artifacts/accessibility-*.json but do not fail; no
  rule is switched off. These facts keep it fast enough to run on every commit:
  * A palette changes colours only (Material swaps CSS custom properties; the page and its layout
    stay the same), so in the dark palette only the colour rules (colour contrast, links told
    apart from text) can find anything new: they run there, and every rule runs in the light one.
  * The colour of a code token depends on its highlighting class and what it sits in (plain
    code, output, admonition, notebook cell), not on the page; so do the colours of the header,
    navigation and footer every page repeats. So inside those parts the two colour rules
    (contrast, links told apart from text) are checked on a few elements (three a page to start
    with, all of them for a kind of link with other text in its block) of each
    kind that axe-core has not judged yet in the variant. A kind names what those rules depend
    on, as far as the audit reads it: the tags,
    classes and style attributes from the part down to the element, the containers around it,
    whether it is in the current page's link, whether its text is symbols alone (by axe-core's own
    test, which leaves such text to a person) or one character, the colour behind it (the nearest
    box with a background, and what shows through one whose colour has an alpha below 1), and its
    colour, text fill and stroke, size, weight, text shadow, opacity (its own times its
    ancestors') and any filter or blending around it; for a link, also whether its block holds
    other text, its underline, borders, outline and font, and the colour, decoration and font of
    the block around it. A link whose block holds other text may be in a text block for
    axe-core's link rule or not (axe-core counts only the text outside links and buttons, up to a
    line break or a nested block): such a kind is sampled in full, not three elements a page. A
    kind counts as judged once each rule that applies to it has passed or failed a sample (one
    left undecided, a link with an icon say, does not count): the contrast rule for text of its
    own (a link whose text sits in a <code> child has none), the link rule for a link in text.
    A link with content drawn before or after it (an icon) is a kind of its own. A kind whose
    samples axe-core all leaves undecided (short links under a large icon, an element over them,
    an icon drawn on a badge or on a container) gets as many more elements of the page as it has
    had, in another run of the colour rules on those alone, until one decides it or the page has
    none left (the report counts the runs by page).
    Text that another element's box covers where axe-core looks for what is behind it, or that
    runs outside a painted box its kind names (words wrapping below a box of fixed height), is not
    sampled at all: which box is on top depends on stacking contexts and transforms that no kind
    names, so each such element is checked itself, on every page (the report counts them by
    page). Where axe-core looks is read the way it reads it: the middle of each rectangle of the
    text, cut to the boxes of the element and its ancestors with overflow: hidden; a text node is
    passed over if the middle of one of its rectangles lies outside the element's box, and the
    element's box is used if no rectangle is left. The boxes that count are those of every element
    shown and not at opacity 0, shadow roots included, that is not an ancestor or a descendant of
    the element (axe-core gives no other verdict for a child laid over or under the text); inside a
    box that scrolls its content, boxes outside it are looked for at its middle, as axe-core does.
    Slotted text, which axe-core follows into the shadow root, and the hosts of shadow roots,
    whose text no kind reads, are checked themselves too. A code block flattened for a run keeps
    its text, as plain text; if that moves a flattened block or an element the run checks, the
    blocks stay whole for that run, and in the first run a block that holds a box at the points of
    text set aside (slotted and shadow-root text included) stays whole. The position check is what
    keeps the planted cases right: undone, the test fails; flattening to text rather than emptying,
    and keeping blocks under text set aside, spare it restores, and undone each is covered by it
    on the planted pages. It does not see a change of colour (a :has() rule on a block's spans), a
    box that moves without being watched, text outside the article over a block, or a scroll offset
    that flattening clamps (a reviewer's cases, none on the site today). Other guards without a
    failing planted case: leaving out boxes at opacity 0 (undone, it only sets more text aside),
    flooring the coordinates, and the boxes at the points of slotted and shadow-root text.
    The article's other text is sampled the same way, and the rest of the page is checked
    element by element. For each run of the colour rules, a code block that holds no sample is
    turned into its text (and filled again after it), so that axe-core does not map its elements
    (code alone is ten thousand spans a page); the header, navigation and footer stay whole.
    Only text axe-core looks at is sampled: shown, outside a figure's SVG (which it leaves to a
    person), and not empty once the contrast rule's filter drops punctuation and emoji; a form
    field's value counts, and so does a link (a[href] or role=link, as the link rule selects)
    with any text by the link rule's own test, a footnote mark such as '*' included. A kind of symbols alone whose sample axe-core leaves to a
    person for that reason (the check mark) counts as judged. For the other rules, highlighted
    code made of plain <span class> elements is read as its text, which is all those rules could
    find in it; its spans are then put back.
  * The search index is replaced by an empty one during the visits: Material's search builds it
    from every page's text on each load, which the audit does not look at (the search dialog has
    a test of its own, with the real index). Its weight is read from the built file.
- The keyboard: search, a collapsed solution, a copy button, the notebook links, the check marks
  and the navigation are reached with Tab and work with Enter or Space.
- A phone 390 px wide: nothing sticks out of the screen sideways; wide code and tables scroll
  inside their own box (screenshots test-artifacts/phone-*.png).
- Every page the navigation links to loads, with one heading; at 1440 px no code block scrolls
  sideways (snippet lines are at most 100 columns). The audit's visits check it.
- Page weight: what each page transfers with an empty cache stays under a budget (stated in
  docs/contributing.md); the figures, and the audit's time, are in test-artifacts/accessibility-*.json.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import axe_playwright_python
import pytest
from browser_support import (
    ARTIFACTS,
    checked_page,
    launch_chromium,
    nav_links,
    serve_site,
    wait_for_search_results_to_settle,
    with_an_empty_search_index,
)
from playwright.sync_api import expect

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
FAILING_IMPACTS = {"serious", "critical"}
VARIANTS = {
    "1440-light": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "light"},
    "1440-dark": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "dark"},
    "390-light": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light"},
    "390-dark": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark"},
}
SCHEMES = {"light": "default", "dark": "slate"}  # Material's name of each palette, on <body>

# What a page may transfer on a first visit (empty cache, no compression): its HTML and every
# stylesheet, script, font and image it loads (docs/contributing.md states these budgets). The
# search index, which every page fetches for the search box and a browser then keeps, has its own.
PAGE_BUDGET = 800_000  # a chapter page; the heaviest weighed 724 kB when this was set
NOTEBOOK_PAGE_BUDGET = 1_500_000  # a notebook page (JupyterLab's stylesheet alone is 747 kB)
SEARCH_INDEX_BUDGET = 2_200_000  # 1.59 MB when set at 2 MB; raised at 2.00 MB (contributing.md)

COLOUR_RULES = ["color-contrast", "link-in-text-block"]
# The longest line of each code block in the article that scrolls sideways.
OVERFLOWING_CODE = """() => [...document.querySelectorAll('article pre > code')]
    .filter(code => code.scrollWidth > code.clientWidth + 1)
    .map(code => code.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a)))"""
# Parts whose text colours depend only on each element's classes and what it sits in: highlighted
# code, and the header, navigation and footer that every page repeats.
CODE = ["pre code", ".jp-InputArea pre", ".jp-OutputArea pre"]
REPEATED = [*CODE, ".md-header", ".md-nav", ".md-footer"]
# The article: the rest of its text is sampled too, but by a kind that also names the background
# colour behind the element (an admonition, a table row), since prose is written page by page.
PROSE = ".md-content__inner"
# What an element of those parts may sit in, in a chapter, in a notebook, and around the article.
CONTAINERS = [".admonition", "details", ".result", ".tabbed-set", "table"]
CONTAINERS += [".jp-InputArea", ".jp-OutputArea", ".jp-MarkdownCell"]
CONTAINERS += [".md-nav--primary", ".md-nav--secondary", ".md-header", ".md-footer", ".md-sidebar"]
# Up to 3 elements of a kind not judged yet are tried on each page (every one, for a kind of link with
# other text in its block); if axe-core decides none of them, as many more as it has had, and so on.
COLOUR_SAMPLING = {"code": CODE, "repeated": REPEATED, "prose": PROSE, "containers": CONTAINERS, "samplesPerKind": 3}

# Audits the page: every rule but the colour ones (if `layout`), then the colour rules on a few
# elements of each kind not in `judged`, and on every element outside the article and the repeated
# parts. Returns the palette <body> shows, axe-core's violations, and the kinds it has now judged
# (see the module docstring for what it samples and what counts as judged).
AUDIT = """async ({layout, judged, code, repeated, prose, containers, samplesPerKind}) => {
    const colour = ['color-contrast', 'link-in-text-block'];
    const found = [];
    if (layout) {
        // Code whose only elements are <span class> around text gives the rules other than colour
        // nothing to find but its text: it is audited as that text, then given its spans back.
        const plain = [...document.querySelectorAll(code.join(','))].filter(part => [...part.querySelectorAll('*')]
            .every(el => el.tagName === 'SPAN' && !el.children.length && [...el.attributes].every(a => a.name === 'class')));
        const spans = plain.map(part => [...part.childNodes]);
        plain.forEach(part => part.replaceChildren(part.textContent));
        const off = Object.fromEntries(colour.map(rule => [rule, {enabled: false}]));
        try {
            found.push(...(await axe.run(document, {resultTypes: ['violations'], rules: off})).violations);
        } finally {
            plain.forEach((part, i) => part.replaceChildren(...spans[i]));
        }
    }
    // Text axe-core looks at: shown (not in a closed <details>, not transparent), outside a figure's
    // SVG, and not empty once the contrast rule's filter drops punctuation and emoji; a form field's
    // value is text too, and so is a link's text that the link rule's own test keeps (a '*').
    const field = 'input:not([type=hidden],[type=range],[type=color],[type=checkbox],[type=radio],[type=image]),select,textarea';
    const strip = text => axe.commons.text.removeUnicode(text, {emoji: true, nonBmp: false, punctuations: true}).trim();
    const ownText = el => [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('');
    // A link as the link rule selects it (a[href] or role=link, no other role), with text by its test.
    const link = el => {
        const role = (el.getAttribute('role') || '').trim().split(/\\s+/)[0];
        return (role ? role === 'link' : el.matches('a[href]')) && axe.commons.text.sanitize(el.innerText) !== '';
    };
    const hasText = el => (el.matches(field) || link(el) || strip(ownText(el)) !== '')
                          && !el.closest('svg') && el.checkVisibility({opacityProperty: true, visibilityProperty: true});
    // axe-core leaves symbols alone (a check mark) and a failing single character to a person:
    // such text is a kind of its own, so that it cannot stand in for words of the same style.
    // (Symbols alone as axe-core decides it: nothing left once symbols, and only they, are dropped.)
    const symbolsAlone = text => text.trim() !== ''
        && axe.commons.text.removeUnicode(text, {emoji: false, nonBmp: true, punctuations: false}).trim() === '';
    const characters = el => el.matches(field) ? '' : symbolsAlone(ownText(el)) ? ' symbols'
        : [...strip(ownText(el))].length === 1 ? ' one character' : '';
    // The alpha of rgba(r, g, b, a), or of a colour written with '/ a' (color(), oklch(), ...).
    const alphaOf = colour => colour.startsWith('rgba(') ? parseFloat(colour.split(',')[3])
        : colour.includes('/') ? parseFloat(colour.split('/').pop()) : 1;
    const painted = new Map();  // element -> the colour or image its nearest painted box shows behind it
    const behind = el => {
        if (!el) return 'none';
        if (!painted.has(el)) {
            const style = getComputedStyle(el), colour = style.backgroundColor, image = style.backgroundImage;
            const alpha = alphaOf(colour);
            // A transparent box shows what is behind it; a translucent one, itself over that.
            painted.set(el, image !== 'none' ? image : alpha === 0 ? behind(el.parentElement)
                : alpha < 1 ? colour + ' over ' + behind(el.parentElement) : colour);
        }
        return painted.get(el);
    };
    const drawn = new Map();  // element -> its opacity times its ancestors', and their filters and blending
    const drawing = el => {
        if (!el) return {opacity: 1, effects: ''};
        if (!drawn.has(el)) {
            const style = getComputedStyle(el), outer = drawing(el.parentElement);
            const own = [style.filter, style.mixBlendMode].filter(v => v !== 'none' && v !== 'normal').join(' ');
            drawn.set(el, {opacity: outer.opacity * Number(style.opacity), effects: [outer.effects, own].filter(Boolean).join(' ')});
        }
        return drawn.get(el);
    };
    // How the element's text looks: colour, size, weight, shadow, and how it and what holds it are drawn.
    const looks = el => {
        const style = getComputedStyle(el), {opacity, effects} = drawing(el);
        const fill = [style.webkitTextFillColor, style.webkitTextStrokeWidth, style.webkitTextStrokeColor];
        return [style.color, ...fill, style.fontSize, style.fontWeight, style.textShadow, 'opacity ' + opacity, effects].join(' ');
    };
    // What link-in-text-block also reads of a link. It applies to a link in a text block, which
    // axe-core decides by counting, in the nearest ancestor displayed as a block, the text outside
    // links and buttons up to a line break or a nested block: more of it than link text. A link
    // with no other text there ("alone") is outside; one with other text may be in or out, so its
    // kind is sampled in full and judged only once that rule has passed or failed a sample
    // (needsLinkRule). The rule compares the link with the nearest block around it (colour,
    // decoration, font; an inline-block counts there, as in axe-core's check) and reads the link's
    // own borders, outline and background image.
    const textBlocks = ['block', 'list-item', 'table', 'flex', 'grid'];
    const ownBlocks = [...textBlocks, 'inline-block', 'inline-flex', 'inline-grid'];
    const blockAround = (el, displays) => {
        let e = el.parentElement;
        while (e && !displays.includes(getComputedStyle(e).display) && !getComputedStyle(e).display.startsWith('table-')) e = e.parentElement;
        return e || document.body;
    };
    const squeezed = text => text.replace(/\\s+/g, '');
    const needsLinkRule = new Set();  // the kinds of links that link-in-text-block may apply to
    const linkTerms = el => {
        if (!link(el)) return '';
        // A link whose text sits only in children (an API link around <code>) is not one the
        // contrast rule judges: its children are sampled as elements of their own.
        const ownless = strip(ownText(el)) === '' ? ' no own text' : '';
        const style = getComputedStyle(el), display = style.display;
        const own = ownBlocks.includes(display) || display.startsWith('table-');
        const surrounded = !own && squeezed(blockAround(el, textBlocks).textContent).length > squeezed(el.textContent).length;
        const outer = getComputedStyle(blockAround(el, [...textBlocks, 'inline-block']));
        const lines = ['borderTop', 'borderBottom', 'outline'].flatMap(side => ['Style', 'Width', 'Color'].map(p => style[side + p]));
        // Content drawn before or after it (an icon) leaves both rules undecided: such a link is a
        // kind of its own, so that three of them cannot use up the samples of a plain one.
        const drawn = ['::before', '::after'].map(part => getComputedStyle(el, part)).filter(pseudo => pseudo.content !== 'none')
            .map(pseudo => [pseudo.content, pseudo.position, pseudo.backgroundColor, pseudo.backgroundImage, pseudo.width, pseudo.height].join(' '));
        const marks = [style.textDecorationLine, style.textDecorationStyle, style.fontStyle, style.fontFamily, style.backgroundImage, ...lines, ...drawn];
        const block = [outer.color, outer.textDecorationLine, outer.textDecorationStyle, outer.fontWeight, outer.fontStyle, outer.fontSize, outer.fontFamily];
        return ownless + (surrounded ? ' in text, ' : ' alone, ') + marks.join(' ') + ' in a block of ' + block.join(' ');
    };
    // Text that another element's box covers where axe-core looks for what is behind it (a layer
    // under or over it, a grid cell stacked on it, a box pulled onto it by a negative margin) is
    // not sampled: which of those boxes is on top depends on more than a kind could name (stacking
    // contexts, transforms), so each such element is checked itself. Nor is text that runs outside
    // a painted box its kind names (words that wrap below a box of fixed height).
    // Where axe-core looks, as its getVisibleChildTextRects and getTextElementStack do (calling them
    // needs axe.setup and a grid of the page: a second or more a page): the middle of each rectangle
    // of the element's text, cut to the boxes of the element and its ancestors with overflow:
    // hidden; a text node is passed over if the middle of one of its rectangles lies outside the
    // element's box, and the element's box is used if no rectangle is left. Coordinates are
    // floored, and a box holds a point up to its far edges only.
    const clipsOf = new Map();  // element -> the boxes that clip it (itself and its ancestors with overflow: hidden)
    const clips = el => {
        if (!el) return [];
        if (!clipsOf.has(el)) {
            clipsOf.set(el, [...(getComputedStyle(el).overflow === 'hidden' ? [el.getBoundingClientRect()] : []), ...clips(el.parentElement)]);
        }
        return clipsOf.get(el);
    };
    const cut = (r, c) => {
        const left = Math.max(r.left, c.left), right = Math.min(r.right, c.right), top = Math.max(r.top, c.top), bottom = Math.min(r.bottom, c.bottom);
        return right <= left || bottom <= top ? null : new DOMRect(left, top, right - left, bottom - top);
    };
    const middle = r => [r.left + r.width / 2, r.top + r.height / 2];
    const inside = (r, [x, y]) => r.left <= x && x <= r.right && r.top <= y && y <= r.bottom;
    const textPoints = el => {
        const box = el.getBoundingClientRect(), range = document.createRange(), rects = [];
        const clipped = list => list.filter(r => r.width >= 1 && r.height >= 1)
            .map(r => clips(el).reduce((kept, c) => kept && cut(kept, c), r)).filter(Boolean);
        for (const node of el.childNodes) {
            if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
            range.selectNodeContents(node);
            const own = [...range.getClientRects()];
            if (own.some(r => !inside(box, middle(r)))) continue;
            rects.push(...clipped(own));
        }
        return (rects.length ? rects : clipped([box])).map(r => middle(r).map(Math.floor));
    };
    const covers = (r, [x, y]) => Math.floor(r.left) <= x && x < Math.floor(r.left + r.width)
        && Math.floor(r.top) <= y && y < Math.floor(r.top + r.height);
    // A box that scrolls its content (overflow auto or scroll, with more content than room) keeps a
    // grid of its own in axe-core: what lies outside it is looked for at the box's middle instead.
    const regions = new Map();  // element -> the nearest scrolling box around it (null: the page)
    const scrolls = e => {
        const style = getComputedStyle(e), scrollable = value => ['auto', 'scroll'].includes(value);
        return (e.scrollWidth > e.clientWidth && scrollable(style.overflowX))
            || (e.scrollHeight > e.clientHeight && scrollable(style.overflowY));
    };
    const regionOf = e => {
        const parent = e.parentElement || (e.parentNode && e.parentNode.host) || null;
        if (!parent) return null;
        if (!regions.has(e)) regions.set(e, scrolls(parent) ? parent : regionOf(parent));
        return regions.get(e);
    };
    // The boxes of every element shown and not at opacity 0 (axe-core leaves those out of its
    // stacks), shadow roots included, by bands 64 px high, so that a point meets only its band's.
    const bands = new Map();
    const file = root => {
        for (const e of root.querySelectorAll('*')) {
            if (e.shadowRoot) file(e.shadowRoot);
            if (!e.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
            for (const r of e.getClientRects()) {
                if (r.width <= 0 || r.height <= 0) continue;
                for (let b = Math.floor(r.top / 64); b <= Math.floor(r.bottom / 64); b++) (bands.get(b) || bands.set(b, []).get(b)).push([e, r]);
            }
        }
    };
    file(document);
    // Where axe-core looks for the boxes of each region around a point of the element's text: the
    // point itself in the element's own region, the middle of that region's box in the next, and so on.
    const lookouts = (el, point) => {
        const found = [];
        for (let region = regionOf(el), at = point; ; at = middle(region.getBoundingClientRect()).map(Math.floor), region = regionOf(region)) {
            found.push([region, at]);
            if (!region) return found;
        }
    };
    const boxesAt = (el, point) => lookouts(el, point).flatMap(([region, at]) => (bands.get(Math.floor(at[1] / 64)) || [])
        .filter(([e, r]) => regionOf(e) === region && covers(r, at)).map(([e]) => e));
    const paintedBoxes = new Map();  // element -> the painted boxes behind() reads, up to the first opaque one
    const paintedAround = el => {
        if (!el) return [];
        if (!paintedBoxes.has(el)) {
            const style = getComputedStyle(el), alpha = alphaOf(style.backgroundColor), image = style.backgroundImage !== 'none';
            paintedBoxes.set(el, image || alpha === 1 ? [el] : [...(alpha > 0 ? [el] : []), ...paintedAround(el.parentElement)]);
        }
        return paintedBoxes.get(el);
    };
    // Slotted text sits in a shadow root's boxes, which axe-core follows and these parentElement walks do not.
    const slotted = el => { for (let e = el; e; e = e.parentElement) if (e.assignedSlot) return true; return false; };
    const under = new Set();  // every box at the points of text set aside, over or under it
    const setAside = el => {
        const isSlotted = slotted(el);
        return textPoints(el).map(point => {
            const stack = boxesAt(el, point);
            const aside = isSlotted || stack.some(e => !e.contains(el) && !el.contains(e)) || paintedAround(el).some(e => !stack.includes(e));
            if (aside) stack.forEach(e => under.add(e));
            return aside;
        }).some(Boolean) || isSlotted;
    };
    // The text in a host's shadow root: every box at its points is kept too.
    const shadowText = host => [...host.shadowRoot.querySelectorAll('*')].flatMap(e => e.shadowRoot ? [e, ...shadowText(e)] : [e])
        .filter(e => !e.shadowRoot && hasText(e));
    const underShadow = host => shadowText(host).forEach(e => textPoints(e).forEach(point => boxesAt(e, point).forEach(b => under.add(b))));
    // A tag, its classes and any style attribute (which may set a colour the classes do not).
    const named = e => e.tagName + '.' + (e.getAttribute('class') || '') + (e.hasAttribute('style') ? '[' + e.getAttribute('style') + ']' : '');
    const known = new Set(judged), candidates = new Map();  // kind -> its elements, in page order
    const alone = [];  // text over or under another element's box, each checked itself
    const parts = [...document.querySelectorAll(repeated.join(','))]
        .filter(part => !part.parentElement.closest(repeated.join(',')));  // not a part inside a part (a nested .md-nav)
    const article = document.querySelector(prose);
    for (const part of article ? [...parts, article] : parts) {
        const isProse = part === article, around = containers.filter(c => part.closest(c)).join(' ');
        for (const el of [part, ...part.querySelectorAll('*')].filter(hasText)) {
            if (isProse && el.closest(repeated.join(','))) continue;  // a repeated part's, sampled as such
            if (setAside(el)) {
                alone.push(el);
                continue;
            }
            const path = [];  // the element and what it sits in, up to the part
            for (let e = el; e !== part.parentElement; e = e.parentElement) path.unshift(named(e));
            const state = el.closest('.md-nav__link--active, [aria-current]') ? ' (current)' : '';
            const where = isProse ? '' : ' in ' + around;
            const kind = (isProse ? 'prose: ' : '') + path.join(' > ') + state + characters(el) + linkTerms(el) + where
                + ' on ' + behind(el) + ' (' + looks(el) + ')';
            if (!known.has(kind)) (candidates.get(kind) || candidates.set(kind, []).get(kind)).push(el);
            if (kind.includes(' in text, ')) needsLinkRule.add(kind);
        }
        const hosts = [...part.querySelectorAll('*')].filter(e => e.shadowRoot);
        hosts.forEach(underShadow);
        alone.push(...hosts);  // text in a shadow root: no kind reads it
    }
    // A code block with no sample is flattened for the run: axe-core's colour rules map every element
    // of the page first, whatever the context, and ten thousand code spans cost a third of the run.
    // It keeps its text, as one text node, which mostly keeps its lines and widths; where it moves a
    // block or an element the run checks (line numbers drawn by ::before, a padded line), the blocks
    // stay whole for that run. In the first run, which checks the text set aside, a block that holds
    // a box at its points stays whole too.
    // (The header, navigation and footer are left whole: emptying them moves the page, and
    // Material resizes its sidebars in the middle of the run.)
    const codeParts = parts.filter(part => part.matches(code.join(',')));
    const colourRun = async (sampled, first) => {
        const keep = first ? [...under].filter(e => codeParts.some(part => part !== e && part.contains(e))) : [];
        const emptied = codeParts.filter(part => !sampled.some(el => part.contains(el)) && !keep.some(e => part.contains(e)));
        const kept = emptied.map(part => [...part.childNodes]);
        // Only if nothing checked moves, nor any block: else the blocks stay whole for this run.
        const where = () => [...sampled, ...emptied].map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height].join(); }).join(' ');
        const placed = where();
        emptied.forEach(part => part.replaceChildren(part.textContent));
        if (where() !== placed) emptied.forEach((part, i) => part.replaceChildren(...kept[i]));
        // The deepest include or exclude around an element decides: the samples inside the article
        // count, without what they hold (a <pre> with text of its own holds a thousand spans). The
        // first run also checks the rest of the page, outside the article and the repeated parts.
        const holds = sampled.flatMap(el => [...el.children]).filter(child => !sampled.includes(child));
        const outside = first ? [document.body] : [];
        const context = {include: [...outside, ...sampled], exclude: [...[...repeated, prose].map(s => [s]), ...holds]};
        try {
            return await axe.run(context, {elementRef: true, runOnly: {type: 'rule', values: colour}});
        } finally {
            emptied.forEach((part, i) => {
                part.replaceChildren(...kept[i]);
            });
        }
    };
    // A sample of symbols that axe-core leaves to a person for that reason counts as judged: it
    // would leave every element of that kind (symbols alone, in that style) to a person, on every page.
    const byCharacters = node => [...node.any, ...node.all, ...node.none]
        .some(check => (check.data && check.data.messageKey) === 'nonBmp');
    // Each rule counts for itself: a kind is judged once every rule that applies to it has passed
    // or failed a sample (the contrast rule for text of its own, the link rule for a link in text).
    const contrastSeen = new Set(), linkSeen = new Set();
    const judgedBy = (elements, seen) => elements.some(el => seen.has(el));
    const tried = new Map();  // kind -> the elements checked so far
    const isJudged = kind => (kind.includes(' no own text') || judgedBy(tried.get(kind), contrastSeen))
                             && (!needsLinkRule.has(kind) || judgedBy(tried.get(kind), linkSeen));
    // Three elements of a kind (every one, for a link in text) are checked; a kind that none of them
    // decides (an icon over it, say) gets as many more as it has had, run after run, until one
    // decides it or the page has no more.
    let next = new Map([...candidates].map(([kind, els]) => [kind, needsLinkRule.has(kind) ? els : els.slice(0, samplesPerKind)]));
    let runs = 0;
    while (runs === 0 || next.size) {
        const result = await colourRun([...next.values()].flat().concat(runs === 0 ? alone : []), runs === 0);
        runs += 1;
        found.push(...result.violations);
        const decided = [...result.passes, ...result.violations].flatMap(rule => rule.nodes.map(n => [rule.id, n.element]));
        decided.filter(([id]) => id === 'color-contrast').forEach(([, el]) => contrastSeen.add(el));
        decided.filter(([id]) => id === 'link-in-text-block').forEach(([, el]) => linkSeen.add(el));
        result.incomplete.flatMap(rule => rule.nodes).filter(byCharacters).forEach(n => contrastSeen.add(n.element));
        next.forEach((els, kind) => tried.set(kind, [...(tried.get(kind) || []), ...els]));
        next = new Map([...next.keys()].filter(kind => !isJudged(kind))
            .map(kind => [kind, candidates.get(kind).slice(tried.get(kind).length, 2 * tried.get(kind).length)])
            .filter(([, els]) => els.length));
    }
    return {
        scheme: document.body.getAttribute('data-md-color-scheme'),
        judged: [...tried.keys()].filter(isJudged),
        colourRuns: runs,
        checkedAlone: alone.length,
        violations: found.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                      summary: (n.failureSummary || '').slice(0, 300)})),
        })),
    };
}"""


@pytest.fixture(scope="module")
def base_url(site):
    with serve_site(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as browser:
        yield browser


@dataclass
class Audit:
    variant: str
    pages: list[str]  # paths below the site's root
    schemes: dict[str, str] = field(default_factory=dict)  # path -> the palette <body> shows
    violations: dict[str, list[dict]] = field(default_factory=dict)  # path -> axe-core's violations
    transfers: dict[str, dict[str, int]] = field(default_factory=dict)  # path -> kind -> bytes
    page_seconds: dict[str, float] = field(default_factory=dict)  # path -> seconds to load and audit
    colour_runs: dict[str, int] = field(default_factory=dict)  # path -> axe-core runs of the colour rules
    checked_alone: dict[str, int] = field(default_factory=dict)  # path -> elements over another's box
    code_checked_on: list[str] = field(default_factory=list)  # pages where a kind in the repeated parts was judged
    judged_kinds: list[str] = field(default_factory=list)  # the kinds in the repeated parts whose contrast was judged
    search_index_bytes: int = 0  # the built index, which every page fetches (the visits get an empty one)
    loaded: dict[str, tuple[bool, int]] = field(default_factory=dict)  # path -> (response ok, <h1> in the article)
    overflowing_code: dict[str, list[str]] = field(default_factory=dict)  # path -> code blocks that scroll sideways
    seconds: float = 0.0

    def failing(self) -> list[str]:
        return [
            f"{self.variant} /{path}: {v['impact']} {v['id']} ({v['help']}), {len(v['nodes'])} nodes, e.g. "
            f"{v['nodes'][0]['target']} {v['nodes'][0]['html']!r}: {v['nodes'][0]['summary']}"
            for path, found in self.violations.items()
            for v in found
            if v["impact"] in FAILING_IMPACTS
        ]

    def counts(self) -> dict[str, int]:
        """ "impact rule" -> nodes, over every page."""
        counts: dict[str, int] = {}
        for found in self.violations.values():
            for v in found:
                counts[f"{v['impact']} {v['id']}"] = counts.get(f"{v['impact']} {v['id']}", 0) + len(v["nodes"])
        return counts


def kind_of(url: str, content_type: str) -> str:
    if url.endswith("search_index.json"):
        return "search index"
    for kind in ("html", "css", "javascript", "image", "font"):
        if kind in content_type:
            return {"javascript": "js"}.get(kind, kind)
    return "other"


@pytest.fixture(scope="module")
def audited_pages(browser, base_url, site) -> list[str]:
    """The chapter pages the navigation links to, then every notebook page under /notebooks/."""
    with checked_page(browser) as page:
        page.goto(base_url)
        chapters = [link.removeprefix(base_url) for link in nav_links(page, base_url)]
    notebooks = sorted(f"{p.parent.relative_to(site).as_posix()}/" for p in (site / "notebooks").rglob("index.html"))
    return chapters + notebooks


# Run by `make test` as a step of its own (`pytest -m audit --dist loadscope`), a class per variant
# so that the variants run side by side on the cores: see docs/contributing.md, "Accessibility and
# page weight". (Not xdist_group marks with --dist loadgroup: pytest-xdist 3.8 groups tests by
# renaming them, which pytest 9.2 no longer lets it do, so every worker audited every variant.)
pytestmark = pytest.mark.audit


@pytest.fixture(scope="class")
def audit(request, browser, base_url, audited_pages, site) -> Audit:
    """Every page in the variant of the test's class, each audited once by axe-core in one browser
    context (a fixture per variant keeps each within pytest's time limit for one test). The same
    visits weigh each page: the guard routes every request, which keeps the browser's cache out of it."""
    variant = request.cls.variant
    started = time.perf_counter()
    audit = Audit(variant, audited_pages, search_index_bytes=(site / "search" / "search_index.json").stat().st_size)
    layout = VARIANTS[variant]["color_scheme"] == "light"  # see the module's docstring
    with checked_page(browser, **VARIANTS[variant]) as page:
        with_an_empty_search_index(page, site)
        responses: list = []
        page.on("response", lambda response: responses.append(response))
        for path in audit.pages:
            page_started = time.perf_counter()
            responses.clear()
            response = page.goto(base_url + path, wait_until="load")
            audit.loaded[path] = (response.ok, page.locator("article h1").count())
            if overflowing := page.evaluate(OVERFLOWING_CODE):
                audit.overflowing_code[path] = overflowing
            page.evaluate(AXE_SOURCE)
            result = page.evaluate(AUDIT, {"layout": layout, "judged": audit.judged_kinds, **COLOUR_SAMPLING})
            audit.schemes[path], audit.violations[path] = result["scheme"], result["violations"]
            audit.colour_runs[path] = result["colourRuns"]
            audit.checked_alone[path] = result["checkedAlone"]
            audit.judged_kinds.extend(result["judged"])
            audit.code_checked_on.extend([path] if result["judged"] else [])
            transfers = audit.transfers.setdefault(path, {})
            for response in responses:
                kind = kind_of(response.url, response.headers.get("content-type", ""))
                transfers[kind] = transfers.get(kind, 0) + int(response.headers.get("content-length", 0))
            audit.page_seconds[path] = round(time.perf_counter() - page_started, 2)
    audit.seconds = time.perf_counter() - started
    ARTIFACTS.mkdir(exist_ok=True)
    report = {
        "variant": audit.variant,
        "seconds": round(audit.seconds, 1),
        "pages": len(audit.pages),
        "violations (nodes)": audit.counts(),
        "bytes transferred by page": audit.transfers,
        "seconds by page": audit.page_seconds,
        "colour runs by page": audit.colour_runs,
        "text over another element's box, checked element by element, by page": audit.checked_alone,
        "contrast of code, header, navigation and footer checked on": audit.code_checked_on,
        "kinds of element in those parts judged": audit.judged_kinds,
    }
    (ARTIFACTS / f"accessibility-{audit.variant}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return audit


class AuditOfOneVariant:
    """The audit's checks, for the variant a subclass names. A class per variant: pytest-xdist
    (`--dist loadscope`) runs each class on one worker, the four side by side on the cores."""

    variant = ""

    def test_the_audit_covers_every_chapter_and_notebook_in_the_palette_asked_for(self, audit):
        chapters = [path for path in audit.pages if not path.startswith("notebooks/")]
        notebooks = [path for path in audit.pages if path.startswith("notebooks/")]
        assert len(chapters) >= 19 and len(notebooks) >= 19
        assert len(audit.violations) == len(audit.pages)
        code_checked = audit.code_checked_on
        assert any(path.startswith("notebooks/") for path in code_checked), "no notebook code was checked"
        assert any(not path.startswith("notebooks/") for path in code_checked), "no chapter code was checked"
        # On a phone the navigation is in a closed drawer, which axe-core passes over: see the drawer's test.
        kinds = ["CODE. > SPAN.k in  on ", "PRE. > SPAN.k in .jp-InputArea on ", "(current) in .md-nav--primary"]
        for kind in kinds if VARIANTS[audit.variant]["viewport"]["width"] >= 1440 else kinds[:2]:
            assert any(kind in judged for judged in audit.judged_kinds), f"no {kind!r} element's contrast was judged"
        prose = [kind for kind in audit.judged_kinds if kind.startswith("prose: ")]
        assert any(" > P. on " in kind for kind in prose) and any(" > TD. " in kind for kind in prose), prose
        expected = SCHEMES[VARIANTS[audit.variant]["color_scheme"]]
        wrong_palette = {path: scheme for path, scheme in audit.schemes.items() if scheme != expected}
        assert wrong_palette == {}, f"the page did not take the reader's palette ({expected})"

    def test_every_page_loads_with_one_heading(self, audit):
        assert {path: loaded for path, loaded in audit.loaded.items() if loaded != (True, 1)} == {}

    def test_code_fits_without_scrolling_on_a_wide_screen(self, audit):
        """Snippet lines are at most 100 columns (ruff), which fit at 1440 px; outputs wrap instead."""
        if VARIANTS[audit.variant]["viewport"]["width"] < 1440:
            pytest.skip("on a phone, wide code scrolls inside its own box: see the phone test below")
        chapters = {path: lines for path, lines in audit.overflowing_code.items() if not path.startswith("notebooks/")}
        assert chapters == {}, "these code blocks scroll sideways; their longest line is shown"

    def test_no_serious_or_critical_accessibility_violations(self, audit):
        assert audit.failing() == [], f"axe-core found, in {audit.seconds:.0f} s:\n" + "\n".join(audit.failing())

    def test_pages_stay_within_the_page_weight_budget(self, audit):
        weights = {
            path: sum(n for kind, n in kinds.items() if kind != "search index")
            for path, kinds in audit.transfers.items()
        }
        chapters = {path: n for path, n in weights.items() if not path.startswith("notebooks/")}
        notebooks = {path: n for path, n in weights.items() if path.startswith("notebooks/")}
        assert all(kinds.get("html") and kinds.get("css") and kinds.get("js") for kinds in audit.transfers.values())
        assert {path: n for path, n in chapters.items() if n > PAGE_BUDGET} == {}, f"over {PAGE_BUDGET:,} bytes"
        assert {path: n for path, n in notebooks.items() if n > NOTEBOOK_PAGE_BUDGET} == {}, (
            f"over {NOTEBOOK_PAGE_BUDGET:,} bytes"
        )
        assert all("search index" in kinds for kinds in audit.transfers.values()), "a page fetched no search index"
        index = audit.search_index_bytes
        assert index <= SEARCH_INDEX_BUDGET, f"the search index weighs {index:,} bytes"


class TestAudit1440Light(AuditOfOneVariant):
    variant = "1440-light"


class TestAudit1440Dark(AuditOfOneVariant):
    variant = "1440-dark"


class TestAudit390Light(AuditOfOneVariant):
    variant = "390-light"


class TestAudit390Dark(AuditOfOneVariant):
    variant = "390-dark"


def run_axe(page, selector: str) -> list[dict]:
    """axe-core's serious and critical violations inside one part of the page."""
    page.evaluate(AXE_SOURCE)
    found = page.evaluate(
        "selector => axe.run(selector, {resultTypes: ['violations']}).then(r => r.violations)", selector
    )
    return [
        (v["id"], [(n["target"], n["failureSummary"]) for n in v["nodes"]])
        for v in found
        if v["impact"] in FAILING_IMPACTS
    ]


# Table rows striped by position, each cell holding a badge tinted with a translucent colour: a
# badge in a dark row and one in a light row differ only by what shows through the tint.
TINTED_ROWS = (
    ".zebra tr:nth-child(odd) td { background: #111 } .zebra tr:nth-child(even) td { background: #eee }"
    " .tint { background: color-mix(in srgb, #888 20%, transparent); color: #eee }"
)
ZEBRA = "<table class='zebra'><tr><td><span class='tint'>tag</span></td></tr></table>"
# A link class without an underline, in dark text: alone in its paragraph, or followed by less
# text than its own (outside a text block, for axe-core), then inside a sentence.
TERM = ".md-typeset a.term { text-decoration: none; color: #ccc }"
LONE_TERM = (
    "<p><a class='term' href='#'>Glossary</a></p><p><a class='term' href='#'>Broadcasting semantics</a>, briefly.</p>"
)
# Links told apart by their href alone: underlined, then not, in the same sentence and colour.
GLOSS = ".md-typeset a[href^='#x-'], .md-typeset a[href^='#gloss-'] { color: #ccc }"
GLOSS += " .md-typeset a[href^='#gloss-'] { text-decoration: none }"
UNDERLINED = "<p>A <a href='#x-tensor'>tensor</a> holds numbers.</p>"
# Links of one class without an underline: one with an icon after it (which axe-core's link rule
# leaves undecided), a one-character footnote mark, and links in paragraphs whose colour or weight
# differ through an attribute only.
MARKED = ".md-typeset a.icon, .md-typeset a.mark { text-decoration: none; color: #ccc }"
MARKED += " .md-typeset a.icon[href^='https:']::after { content: ' ↗' }"
MARKED += " .md-typeset a.tone { text-decoration: none; color: #777 } .md-typeset p[data-dim] { color: #888 }"
MARKED += " .md-typeset a.bold { text-decoration: none; color: #ccc; font-weight: 700 }"
MARKED += " .md-typeset p[data-bold] { font-weight: 700 }"
ICON_AND_TONE = (
    "<p>See the <a class='icon' href='https://example.org/'>autograd notes</a> for more.</p>"
    "<p>A <a class='tone' href='#'>tensor</a> holds numbers.</p>"
    "<p>A <a class='bold' href='#'>tensor</a> holds numbers.</p>"
)
# Links whose first sample the contrast rule cannot judge: an underlined link with a large icon
# after it (undecided), an API link whose text is its <code> child; then the same links with words;
# and a span with role=link, alone, then in a sentence.
OWNLESS = ".md-typeset a.pin, .md-typeset a.api { color: #444 }"
OWNLESS += " .md-typeset a.pin[href^='https:']::after"
OWNLESS += " { content: ''; position: absolute; width: 1em; height: 1em; background-color: currentColor }"
OWNLESS += " .md-typeset a.api code { color: var(--md-code-fg-color) } .md-typeset span.rl { color: #ccc }"
UNDECIDED = (
    "<p>See the <a class='pin' href='https://example.org/'>docs</a> for more.</p>"
    "<p>Call <a class='api' href='#'><code>torch.save</code></a> first.</p>"
    "<p><span class='rl' role='link' tabindex='0'>Glossary</span></p>"
)
# Six short links alone in list items, each with an icon drawn after it (the contrast rule leaves
# them undecided), before a long one with the same icon (which it decides) and a plain one of the
# same class; then three badges with an icon, before one without it. All are too faint: the audit
# must report the long link and the badge without an icon, which only later runs sample (the long
# link, the third run).
ICONS = ".md-typeset a.ext { color: #444; position: relative } .md-typeset a.ext[href^='https:']::after"
ICONS += " { content: ''; position: absolute; width: 1em; height: 1em; background-color: currentColor }"
ICONS += " .md-typeset span.badge { color: #444; position: relative; margin-right: 1.1em }"
ICONS += " .md-typeset span.badge[data-new]::after { content: ''; position: absolute; right: -1.05em; top: 0.1em;"
ICONS += " width: 1em; height: 1em; background-color: currentColor }"
ICON_LIST = "<ul>" + "".join(f"<li><a class='ext' href='https://example.org/{n}'>Docs {n}</a></li>" for n in range(6))
LONG = "Saving and loading models across devices"
ICON_LIST += f"<li><a class='ext' id='long-ext' href='https://example.org/l'>{LONG}</a></li>"
ICON_LIST += "<li><a class='ext' id='plain-ext' href='#'>Saving models</a></li></ul>"
ICON_LIST += "<p>" + "".join(f"<span class='badge' data-new>v{n}</span> " for n in range(3))
ICON_LIST += "<span class='badge' id='plain-badge'>stable</span></p>"
# Three code tokens with an icon in one code block, and a faint one without it in another block
# with nothing else sampled (emptied for the first run, so it must be filled again for the next).
TOKENS = ".md-typeset span.zz { color: #444; position: relative; margin-right: 1.1em }"
TOKENS += " .md-typeset span.zz[data-icon]::after { content: ''; position: absolute; right: -1.05em; top: 0.1em;"
TOKENS += " width: 1em; height: 1em; background-color: currentColor }"
PLANT_TOKENS = """() => {
    const blocks = [...document.querySelectorAll('article pre > code')].filter(b => b.checkVisibility()
        && !b.closest('details, .result'));
    blocks[0].insertAdjacentHTML('afterbegin', '<span class="zz" data-icon>v0</span><span class="zz" data-icon>v1</span>'
        + '<span class="zz" data-icon>v2</span>\\n');
    blocks.at(-1).insertAdjacentHTML('afterbegin', '<span class="zz" id="late-zz">load_state_dict</span>\\n');
}"""


def three_then(same: str, odd: str) -> str:
    """Three elements of one kind ({n} numbers them), then the one of another kind the audit must find."""
    return "".join(same.format(n=n) for n in range(3)) + odd


# Text over a painted layer that is not its ancestor: three over a dark layer, one over a light one.
LAYERS = ".hero { position: relative; padding: 1em } .hero .layer { position: absolute; inset: 0 }"
LAYERS += " .layer.dark { background: #0d47a1 } .layer.light { background: #e3f2fd }"
LAYERS += " .md-typeset .hero p { position: relative; color: #fff; margin: 0 }"
HEROES = three_then(
    "<div class='hero'><div class='layer dark'></div><p>Release {n} notes</p></div>",
    "<div class='hero'><div class='layer light'></div><p id='on-light'>Release 4 notes</p></div>",
)
# Dark text over three light layers, then over one that is not shown (opacity 0): on the page itself.
LAYERS += " .md-typeset .hero.ink p { color: #222 }"
HEROES += three_then(
    "<div class='hero ink'><div class='layer light'></div><p>Draft {n}</p></div>",
    "<div class='hero ink'><div class='layer light' style='opacity: 0'></div><p id='unlayered'>Draft 4</p></div>",
)
# Pale text on a white box: three over a dark band across it, one beside a band on its right only;
# three over a light layer blended dark on a dark box, one not blended; three over two layers, the
# dark one on top by its z-index, one where the light one is on top. Only the fourth of each fails.
LAYERS += " .md-typeset .hx { position: relative; background: #fff; margin: 0 0 4px; height: 2.4em }"
LAYERS += " .md-typeset .hx .lay { position: absolute; top: 0; bottom: 0; left: 0; right: 0; background: #0d47a1 }"
LAYERS += " .md-typeset .hx .lay.light { background: #e3f2fd } .md-typeset .hx .lay.part { left: auto; width: 30% }"
LAYERS += " .md-typeset .hx p { position: relative; color: #ddd; margin: 0; z-index: 2 }"
LAYERS += " .md-typeset .hx.blend { background: #0d47a1 } .md-typeset .hx.blend .lay.mixed { mix-blend-mode: multiply }"
LAYERS += " .md-typeset .hx .lay.up { z-index: 1 }"
HEROES += three_then(
    "<div class='hx'><div class='lay'></div><p>Release {n}</p></div>",
    "<div class='hx'><div class='lay part'></div><p id='beside-band'>Release 4</p></div>",
)
HEROES += three_then(
    "<div class='hx blend'><div class='lay light mixed'></div><p>Tint {n}</p></div>",
    "<div class='hx blend'><div class='lay light'></div><p id='unblended'>Tint 4</p></div>",
)
HEROES += three_then(
    "<div class='hx'><div class='lay up'></div><div class='lay light'></div><p>Slide {n}</p></div>",
    "<div class='hx'><div class='lay'></div><div class='lay light'></div><p id='light-on-top'>Slide 4</p></div>",
)
# Three over a light layer and a dark one after it, on top; one where the dark one sits in a wrapper
# with a negative z-index, which paints it under the white box: the same layers in the same order
# in the document, painted in another.
LAYERS += " .md-typeset .hx .sunk { position: absolute; inset: 0; z-index: -1 }"
HEROES += three_then(
    "<div class='hx'><div class='lay light'></div><div class='lay'></div><p>Tide {n}</p></div>",
    "<div class='hx'><div class='lay light'></div><div class='sunk'><div class='lay'></div></div>"
    "<p id='sunk-band'>Tide 4</p></div>",
)
# The same over a grid cell stacked on the text, and over a fixed layer (each row at its own height).
LAYERS += " .stack { display: grid } .stack > * { grid-area: 1 / 1 } .stack .cell { background: #0d47a1 }"
LAYERS += " .stack .cell.light { background: #e3f2fd } .md-typeset .stack p { color: #fff; margin: 0; z-index: 1 }"
LAYERS += " .pinned > * { position: fixed; left: 700px; width: 300px; height: 2em; margin: 0 }"
LAYERS += " .pinned div { background: #0d47a1 } .pinned div.light { background: #e3f2fd }"
LAYERS += " .md-typeset .pinned p { color: #fff; z-index: 5 }"
LAYERS += "".join(f" .pinned > :nth-of-type({n + 1}) {{ top: {120 + 50 * n}px }}" for n in range(4))
HEROES += three_then(
    "<div class='stack'><div class='cell'></div><p>Step {n}</p></div>",
    "<div class='stack'><div class='cell light'></div><p id='grid-light'>Step 4</p></div>",
)
HEROES += "<div class='pinned'>" + three_then("<div></div>", "<div class='light'></div>")
HEROES += three_then("<p>Note {n}</p>", "<p id='fixed-light'>Note 4</p>") + "</div>"
# Dark text on white boxes: three alone, one over a dark layer (of the same kind but for the layer).
LAYERS += " .md-typeset .hx.ink p { color: #222 }"
HEROES += three_then(
    "<div class='hx ink'><p>Memo {n}</p></div>",
    "<div class='hx ink'><div class='lay'></div><p id='over-band'>Memo 4</p></div>",
)
# Text wider than the card that clips it, on a white box: where axe-core looks, in the clipped part,
# the fourth card has a dark layer; the middle of the whole line lies outside every card.
LAYERS += " .clipwrap { background: #fff; padding: 4px 0 }"
LAYERS += " .cardx { position: relative; width: 200px; height: 2em; margin: 4px 0; overflow: hidden }"
LAYERS += " .cardx .bandx { position: absolute; inset: 0; background: #0d47a1 }"
LAYERS += " .md-typeset .cardx p { position: relative; z-index: 1; margin: 0; color: #333; white-space: nowrap; width: 1000px }"
WIDE = "Saving and loading models across devices, with their optimizer state"
HEROES += (
    "<div class='clipwrap'>"
    + three_then(
        f"<div class='cardx'><p>{WIDE} {{n}}</p></div>",
        f"<div class='cardx'><div class='bandx'></div><p id='clipped'>{WIDE} 4</p></div>",
    )
    + "</div>"
)
# Words that wrap below a white box of fixed height, onto the dark page.
LAYERS += " .md-typeset .chip { background: #fff; height: 1.6em; width: 260px; margin: 0 0 4em }"
LAYERS += " .md-typeset .chip span { color: #333; margin-right: .4em }"
HEROES += (
    "<div class='chip'>" + "".join(f"<span>tag{n}</span>" for n in range(8)) + "<span id='wrapped'>tag8</span></div>"
)
# A dark layer drawn inside a shadow root, under the fourth of four paragraphs on white cards.
LAYERS += " .carde { position: relative; background: #fff; margin: 4px 0; padding: .3em }"
LAYERS += " .md-typeset .carde p { position: relative; z-index: 1; margin: 0; color: #333 }"
HEROES += three_then(
    "<div class='carde'><x-band></x-band><p>Entry {n}</p></div>",
    "<div class='carde'><x-band data-on></x-band><p id='shadowed'>Entry 4</p></div>",
)
# Pale text scrolled out of sight below a scrolling box that sits on a light layer which scrolls
# too: axe-core looks for the layer at the box's middle (where it is), not at the text (where it is
# not), and takes the layer's scrolled height as covering the text. Three without the layer pass.
LAYERS += " .scw { position: relative; margin: 4px 0 5em } .scw .scr { height: 3em; overflow-y: auto } .scw .gap { height: 5em }"
LAYERS += " .scw .scl { position: absolute; inset: 0; overflow-y: auto; background: #e3f2fd }"
LAYERS += " .scw .scl::after { content: ''; display: block; height: 20em }"
LAYERS += " .md-typeset .scw p { color: #eee; margin: 0; position: relative; z-index: 1 }"
HEROES += three_then(
    "<div class='scw'><div class='scr'><div class='gap'></div><p>Entry {n}</p></div></div>",
    "<div class='scw'><div class='scl'></div><div class='scr'><div class='gap'></div><p id='scrolled'>Entry 4</p></div></div>",
)
# Text wider than its paragraph (nowrap): the middle of its line lies outside the paragraph's box,
# so axe-core passes the text node over and looks at the middle of the paragraph's box, where the
# fourth of four white cards has a dark layer; the line's own middle is on white.
LAYERS += " .pov { position: relative; background: #fff; margin: 4px 0; height: 2em }"
LAYERS += " .pov .pl { position: absolute; left: 0; width: 60px; top: 0; bottom: 0; background: #0d47a1 }"
LAYERS += (
    " .md-typeset .pov p { position: relative; z-index: 1; margin: 0; width: 40px; white-space: nowrap; color: #333 }"
)
HEROES += three_then(
    "<div class='pov'><p>Saving and loading models {n}</p></div>",
    "<div class='pov'><div class='pl'></div><p id='passed-over'>Saving and loading models 4</p></div>",
)
# Slotted text wider than the box in the shadow root that clips it, on a white box: where axe-core
# looks, in the clipped part, the fourth host's shadow root has a dark band; the light DOM's
# parentElement walk sees no clipping box, and the middle of the whole line is on white.
LAYERS += " .slotwrap { background: #fff; padding: 4px 0 } x-clip { display: block; margin: 4px 0 }"
LAYERS += " .md-typeset x-clip p { position: relative; z-index: 1; margin: 0; color: #333; white-space: nowrap; width: 1000px }"
HEROES += (
    "<div class='slotwrap'>"
    + three_then(f"<x-clip><p>{WIDE} {{n}}</p></x-clip>", f"<x-clip data-on><p id='slotted-clip'>{WIDE} 4</p></x-clip>")
    + "</div>"
)
# Self-clipped: text wider than its own box (overflow: hidden) but whose middle lies inside it; an
# inline dark box (which axe-core takes as covering the whole element) lies under the clipped
# middle of the fourth only, not under the middle of the whole line.
LAYERS += " .selfwrap { background: #fff; padding: 4px 0 } .cardy { position: relative; width: 300px; margin: 4px 0 }"
LAYERS += " .cardy .pad { height: 0 } .cardy .inl { position: relative; padding: 1em 0 1em 180px; background: #0d47a1 }"
LAYERS += " .md-typeset .cardy p { position: relative; z-index: 1; margin: 0; color: #333; white-space: nowrap; overflow: hidden }"
HEROES += (
    "<div class='selfwrap'>"
    + three_then(
        f"<div class='cardy'><p>{WIDE} {{n}}</p></div>",
        f"<div class='cardy'><div class='pad'><span class='inl'></span></div><p id='self-clipped'>{WIDE} 4</p></div>",
    )
    + "</div>"
)
# Faint text inside a shadow root, which no kind reads: its host is checked itself.
HEROES += "<x-note id='shadow-text'></x-note>"
SHADOW_BANDS = """() => {
    document.querySelectorAll('x-band[data-on]').forEach(host => { host.attachShadow({mode: 'open'})
        .innerHTML = '<div style="position: absolute; inset: 0; background: #0d47a1"></div>'; });
    document.querySelectorAll('x-clip').forEach(host => { host.attachShadow({mode: 'open'}).innerHTML =
        '<div style="position: relative; width: 200px; height: 2em; overflow: hidden">'
        + (host.hasAttribute('data-on') ? '<div style="position: absolute; inset: 0; background: #0d47a1"></div>' : '')
        + '<slot></slot></div>'; });
    document.getElementById('shadow-text').attachShadow({mode: 'open'}).innerHTML = '<p style="color: #3a3a3a">Inside</p>';
}"""
# Above the first heading, a code block of six lines of one token, and then a paragraph under a
# fixed dark band, on a white box. The first visit judges the token's kind, so the second empties the
# block for the run that checks the paragraph: the block must keep its height, or the paragraph moves
# off the band onto white. (The fixed layers below sit to the right, clear of the block.)
FIXED_BAND = ".fband { position: fixed; left: 0; right: 0; height: 100px; background: #0d47a1; z-index: 2 }"
FIXED_BAND += (
    " .md-typeset p.fx { position: relative; z-index: 3; color: #333; margin: 0 } .fxwrap { background: #fff }"
)
SIX_LINES = "<div class='highlight'><pre><code>" + "<span class='n'>x</span>\n" * 6 + "</code></pre></div>"
PLANT_CODE = f"() => document.querySelector('article h1').insertAdjacentHTML('beforebegin', {SIX_LINES!r})"
# Beside a code block whose token's kind the first visit judges, so that the second empties it, in
# a flex row, a paragraph on a dark band that begins past the block's width: the block must keep
# its width, or the paragraph moves left off the band onto the row's white.
BESIDE_CODE = " .cwrow { display: flex; position: relative; background: #fff; margin: 4px 0 }"
BESIDE_CODE += " .cwrow .highlight { flex: none; margin: 0 } .cwrow .cwl { position: absolute; top: 0; bottom: 0;"
BESIDE_CODE += " left: 150px; right: 0; background: #0d47a1 }"
BESIDE_CODE += " .md-typeset .cwrow p { position: relative; z-index: 1; color: #333; margin: 0; padding: .5em }"
PLANT_BESIDE_CODE = (
    "() => document.querySelector('article').insertAdjacentHTML('afterbegin', \"<div class='cwrow'><div class='cwl'>"
    "</div><div class='highlight'><pre><code><span class='n'>abcdefghij_klmnopqrst_uvwxyz</span></code></pre>"
    "</div><p id='beside-code'>Release notes</p></div>\")"
)
# Three more that emptying a block must not move: a paragraph aligned on a block's first baseline in
# a flex row (#baseline-code: an empty block's baseline falls to its bottom), a paragraph laid
# over a block's dark highlighted line (#over-code: the line is a box inside the block), and a
# paragraph in the next cell of a table whose columns follow the block's content (#in-table).
BASELINE_CODE = " .blrow { display: flex; align-items: baseline; position: relative; background: #fff; margin: 4px 0 }"
BASELINE_CODE += " .blrow .highlight { flex: none; margin: 0 }"
BASELINE_CODE += " .blrow .bll { position: absolute; top: 0; height: 4em; left: 150px; right: 0; background: #0d47a1 }"
BASELINE_CODE += " .md-typeset .blrow p { position: relative; z-index: 1; color: #333; margin: 0; padding: 0 .5em }"
BASELINE_CODE += " .ovc .hll { background: #0d47a1 !important; padding-bottom: 4em !important }"
BASELINE_CODE += " .md-typeset p.oc { color: #a6a6a6; position: relative; z-index: 1; margin: -5.5em 0 0; padding-left: 2em; line-height: 1; width: 10em }"
BL_CODE = "<span class='n'>abcdefghij_klmnopqrst_uvwxyz</span>\n" + "<span class='n'>x</span>\n" * 3
PLANT_BASELINE_CODE = (
    "() => document.querySelector('article').insertAdjacentHTML('afterbegin', "
    + repr(
        "<div class='blrow'><div class='bll'></div><div class='highlight'><pre><code>" + BL_CODE + "</code></pre></div>"
        "<p id='baseline-code'>Release notes</p></div>"
        "<div class='highlight ovc'><pre><code><span class='n'>x</span>\n<span class='hll'> \n</span></code></pre></div>"
        "<p class='oc' id='over-code'>Release notes</p>"
    )
    + ")"
)
TABLE_CODE = " .tt { width: 100%; position: relative; background: #fff; border-collapse: collapse } .tt td { padding: 0; vertical-align: top }"
TABLE_CODE += " .tt .highlight { margin: 0 } .tt .tband { position: absolute; top: 0; bottom: 0; left: 520px; width: 120px; background: #0d47a1 }"
TABLE_CODE += " .md-typeset .tt p { position: relative; z-index: 1; color: #333; margin: 0; width: fit-content }"
PLANT_TABLE_CODE = (
    "() => document.querySelector('article').insertAdjacentHTML('afterbegin', "
    + repr(
        "<table class='tt'><tr><td><div class='tband'></div><div class='highlight'><pre><code><span class='n'>abcdefghij_klmnopqrst</span>\n</code></pre></div></td>"
        "<td><p id='in-table'>Release notes</p></td></tr></table>"
    )
    + ")"
)

# Four more: a block in a table cell with Material's inline line numbers ([data-linenos]::before,
# pymdownx-inline), which a text node drops, so the next cell moves left off a band (#lined); a
# highlighted line with room below it, which a text node drops, so the paragraph after the block
# moves up off a band (#below-hll); and #over-code again, with the paragraph slotted into a shadow
# root (#slotted-over) or inside one (#shadow-over), whose points no stack records.
MORE = " .mb { position: relative; background: #fff } .mb .mbb { position: absolute; background: #0d47a1 }"
MORE += " .mb .hll { padding-bottom: 3em !important } .md-typeset .mb p { position: relative; z-index: 1; color: #333; margin: 0 }"
MORE += " x-s, x-t { display: block } .ovd .hll { background: #0d47a1 !important } .md-typeset x-s p.oc { font-size: 12px; margin: 0 }"
LINED = "".join(
    f"<span class='linenos' data-linenos='{n} '></span><span class='n'>abc</span>\\n" for n in range(10, 13)
)
OVC = (
    "<div class='highlight ovd'><pre><code><span class='n'>x</span>\\n<span class='hll'> \\n</span></code></pre></div>"
)
PLANT_MORE = """() => {
    document.querySelector('article').insertAdjacentHTML('beforeend',
        "<table class='tt mb'><tr><td><div class='mbb'></div><div class='highlight'><pre><code>LINED</code></pre></div></td>"
        + "<td><p id='lined'>Note</p></td></tr></table>"
        + "<div class='mb'><div class='mbb'></div><div class='highlight'><pre><code><span class='n'>x</span>\\n"
        + "<span class='hll'> \\n</span><span class='n'>z</span>\\n</code></pre></div><p id='below-hll'>Release notes</p></div>"
        + "<div style='height: 6em'></div>OVC<x-s><p class='oc' id='slotted-over'>Release notes</p></x-s>"
        + "<div style='height: 6em'></div>OVC<x-t id='shadow-over'></x-t>");
    for (const id of ['lined', 'below-hll']) {
        const p = document.getElementById(id), box = p.closest('.mb'), band = box.querySelector('.mbb');
        const r = p.getBoundingClientRect(), q = box.getBoundingClientRect();
        Object.assign(band.style, {left: r.left - q.left - 2 + 'px', top: r.top - q.top - 2 + 'px', width: r.width + 4 + 'px', height: r.height + 4 + 'px'});
    }
    document.querySelector('x-s').attachShadow({mode: 'open'}).innerHTML = '<slot></slot>';
    document.getElementById('shadow-over').attachShadow({mode: 'open'}).innerHTML = '<p style="color: #a6a6a6; position: relative;'
        + ' z-index: 1; margin: 0; padding-left: 2em; line-height: 1; width: 10em; font-size: 12px">Release notes</p>';
    // each paragraph onto the highlighted line of the block before it
    for (const p of [document.getElementById('slotted-over'), document.getElementById('shadow-over').shadowRoot.firstChild]) {
        const host = p.closest('x-s') || p.getRootNode().host, line = host.previousElementSibling.querySelector('.hll');
        p.style.margin = '0'; p.style.marginTop = (line.getBoundingClientRect().top + 2 - p.getBoundingClientRect().top) + 'px';
    }
}""".replace("LINED", LINED).replace("OVC", OVC)
PLANT_FIXED_BAND = """() => {
    document.querySelector('article h1').insertAdjacentHTML('beforebegin',
        "<div class='fxwrap'><p class='fx' id='under-fixed'>Release notes</p></div>");  // on white, off the band
    const top = document.getElementById('under-fixed').getBoundingClientRect().top - 5;  // over the paragraph alone
    document.body.insertAdjacentHTML('beforeend', `<div class="fband" style="top: ${top}px"></div>`);
}"""
# Counts the changes to the children of the header, navigation and footer while the audit runs (the
# audit changes no attribute; Material itself may, as it reacts to the page).
WATCH_THE_REPEATED_PARTS = """() => {
    window.repeatedChanges = 0;
    window.repeatedWatch = new MutationObserver(records => { window.repeatedChanges += records.length; });
    document.querySelectorAll('.md-header, .md-nav, .md-footer')
        .forEach(part => window.repeatedWatch.observe(part, {childList: true, subtree: true}));
}"""
# Faint text outside the article and the repeated parts: an announcement bar above the header.
BANNER = "<div class='md-banner' id='banner' style='color: #3a3a3a'>A new release is out</div>"
# Three links of one kind in a line that axe-core's link rule passes over (more link text than
# other text), before one of the same kind inside a sentence.
SEE_ALSO = (
    "<p>See also: "
    + ", ".join(f"<a class='term' href='#'>{w}</a>" for w in ("tensor", "parameter", "buffer"))
    + ".</p>"
)


def test_the_sampled_audit_finds_a_poor_contrast_in_code_footer_and_prose(browser, base_url, site):
    """The audit's own check. A page is audited; then, on the same page, a code token, the footer,
    one paragraph, another paragraph's opacity and one admonition's background are made
    unreadable by a stylesheet, and a paragraph of symbols with a style attribute and a form field
    are added. Audited again, with every
    kind judged the first time left out, the colour run reports each: the paragraphs and the
    admonition's text differ from elements already judged by their colour, opacity, or the colour
    behind them, alone."""
    unreadable = ".highlight .kn { color: #3a3a3a !important } .md-footer * { color: #222 !important }"
    unreadable += " #grey-text { color: #333 } #faded { opacity: 0.3 } #pale-box { background: #e0e0e0 }"
    unreadable += " #filled { -webkit-text-fill-color: #333 }"
    unreadable += " td.yes, td.n { color: #333 }"
    with checked_page(browser, **VARIANTS["1440-dark"]) as page:
        with_an_empty_search_index(page, site)
        page.goto(base_url + "modules/modules-and-layers/")
        page.add_style_tag(content=TINTED_ROWS + TERM + GLOSS + MARKED + OWNLESS + ICONS)
        first = ZEBRA + LONE_TERM + UNDERLINED + ICON_AND_TONE + UNDECIDED
        page.evaluate(f"() => document.querySelector('article').insertAdjacentHTML('beforeend', {first!r})")
        page.evaluate(PLANT_CODE)
        page.add_style_tag(content=BESIDE_CODE)
        page.evaluate(PLANT_BESIDE_CODE)  # so that its token's kind is judged here too
        page.add_style_tag(content=BASELINE_CODE)
        page.evaluate(PLANT_BASELINE_CODE)
        page.add_style_tag(content=TABLE_CODE)
        page.evaluate(PLANT_TABLE_CODE)
        page.evaluate(AXE_SOURCE)
        judged = page.evaluate(AUDIT, {"layout": False, "judged": [], **COLOUR_SAMPLING})["judged"]
        assert not any("A.icon" in kind for kind in judged), "a kind whose link axe-core left undecided was judged"
        assert any("A.api" in kind and "no own text" in kind for kind in judged), "an API link's kind was not judged"
        page.reload()
        page.add_style_tag(
            content=TINTED_ROWS + TERM + GLOSS + MARKED + OWNLESS + ICONS + unreadable + TOKENS + LAYERS + FIXED_BAND
        )
        zebra = ZEBRA.replace("</tr>", "</tr><tr><td><span class='tint' id='tinted'>tag</span></td></tr>", 1)
        term = LONE_TERM + SEE_ALSO + "<p>A <a class='term' id='in-text' href='#'>tensor</a> holds numbers.</p>"
        gloss = UNDERLINED + "<p>A <a id='gloss' href='#gloss-tensor'>tensor</a> holds numbers.</p>"
        gloss += ICON_AND_TONE + "<p>A <a class='icon' id='no-icon' href='#'>tensor</a> holds numbers.</p>"
        gloss += "<p>The loss<a class='mark' id='star' href='#'>*</a> is averaged.</p>"
        gloss += "<p data-dim>A <a class='tone' id='toned' href='#'>tensor</a> holds numbers.</p>"
        gloss += "<p data-bold>A <a class='bold' id='bolded' href='#'>tensor</a> holds numbers.</p>"
        gloss += ICON_LIST + UNDECIDED + "<p>See the <a class='pin' id='pinned' href='#'>docs</a> for more.</p>"
        gloss += "<p>Call <a class='api' id='api-word' href='#'>save</a> first.</p>"
        gloss += "<p>A <span class='rl' id='role-link' role='link' tabindex='0'>tensor</span> holds numbers.</p>"
        gloss += HEROES
        page.evaluate(
            f"() => document.querySelector('article').insertAdjacentHTML('beforeend', {zebra + term + gloss!r})"
        )
        page.evaluate("""() => {
            const paragraphs = document.querySelectorAll('article > p');
            [paragraphs[2].id, paragraphs[5].id, paragraphs[7].id] = ['grey-text', 'faded', 'filled'];
            document.querySelector('article .admonition').id = 'pale-box';
            paragraphs[3].insertAdjacentHTML('afterend', '<p id="elided" style="color: #2a2a2a">· · ·</p>'
                + '<p><input id="field" value="learning rate 0.001" style="color: #ddd; background: #fff"></p>'
                + '<table><tr><td class="yes">✓</td><td class="yes">✓</td><td class="yes">✓</td>'
                + '<td class="yes" id="since">since 2.2</td><td class="yes" id="partly">(✓)</td></tr>'
                + '<tr><td class="n">1</td><td class="n">0</td>'
                + '<td class="n">0</td><td class="n" id="count">24</td></tr></table>');
        }""")
        page.evaluate(PLANT_TOKENS)
        page.evaluate(f"() => document.body.insertAdjacentHTML('afterbegin', {BANNER!r})")
        page.evaluate(SHADOW_BANDS)
        page.evaluate(PLANT_CODE)
        page.add_style_tag(content=BESIDE_CODE)
        page.evaluate(PLANT_BESIDE_CODE)
        page.add_style_tag(content=BASELINE_CODE)
        page.evaluate(PLANT_BASELINE_CODE)
        page.add_style_tag(content=TABLE_CODE)
        page.evaluate(PLANT_TABLE_CODE.replace("'afterbegin'", "'beforeend'"))
        page.evaluate(PLANT_FIXED_BAND)
        page.evaluate(AXE_SOURCE)
        code_before = page.evaluate("() => document.querySelector('article').innerHTML")
        page.evaluate(WATCH_THE_REPEATED_PARTS)
        result = page.evaluate(AUDIT, {"layout": False, "judged": judged, **COLOUR_SAMPLING})
        code_after = page.evaluate("() => document.querySelector('article').innerHTML")
        repeated_changes = page.evaluate("() => window.repeatedChanges + window.repeatedWatch.takeRecords().length")
    assert code_after == code_before, "the audit left the article changed (a part it emptied not filled again)"
    assert repeated_changes == 0, "the audit changed the header, navigation or footer"
    assert result["colourRuns"] >= 3, result["colourRuns"]
    targets = [node["target"] for v in result["violations"] if v["id"] == "color-contrast" for node in v["nodes"]]
    assert targets.count("#banner") == 1, targets
    found = set(targets)
    assert any(target.endswith(".kn") or ".kn:" in target for target in found), found
    assert any(target.startswith(".md-footer__link") for target in found), found
    planted = {"#grey-text", "#faded", "#filled", "#elided", "#field", "#since", "#partly", "#count", "#tinted"}
    planted |= {"#pinned", "#api-word", "#plain-ext", "#long-ext", "#plain-badge", "#late-zz"}
    planted |= {"#on-light", "#grid-light", "#fixed-light", "#unlayered"}
    planted |= {"#beside-band", "#unblended", "#light-on-top", "#sunk-band"}
    planted |= {"#over-band", "#clipped", "#wrapped", "#shadowed", "#under-fixed"}
    planted |= {"#scrolled", "#passed-over", "#slotted-clip", "#beside-code"}
    planted |= {"#self-clipped", "#baseline-code", "#over-code"}
    planted |= {"#in-table"}
    assert any(target.startswith("#shadow-text") for target in found), found
    assert planted <= found, planted - found
    links = {node["target"] for v in result["violations"] if v["id"] == "link-in-text-block" for node in v["nodes"]}
    assert {"#in-text", "#gloss", "#no-icon", "#star", "#toned", "#bolded", "#role-link"} <= links, links
    assert any(target.startswith("#pale-box > p") for target in found), found


def test_a_run_keeps_code_whole_where_flattening_it_would_move_what_is_checked(browser, base_url, site):
    """PLANT_MORE's blocks move when flattened, so every run keeps every block whole: they get a
    visit of their own, which would otherwise hide the flattening from the test above."""
    with checked_page(browser, **VARIANTS["1440-dark"]) as page:
        with_an_empty_search_index(page, site)
        page.goto(base_url + "modules/modules-and-layers/")
        page.evaluate(PLANT_CODE)
        page.evaluate(AXE_SOURCE)
        judged = page.evaluate(AUDIT, {"layout": False, "judged": [], **COLOUR_SAMPLING})["judged"]
        page.reload()
        page.add_style_tag(content=TABLE_CODE + BASELINE_CODE + MORE)
        page.evaluate(PLANT_MORE)
        page.evaluate(AXE_SOURCE)
        result = page.evaluate(AUDIT, {"layout": False, "judged": judged, **COLOUR_SAMPLING})
    found = {node["target"] for v in result["violations"] if v["id"] == "color-contrast" for node in v["nodes"]}
    assert {"#lined", "#below-hll", "#slotted-over"} <= found, found
    assert any(target.startswith("#shadow-over") for target in found), found


def test_the_layout_run_audits_code_as_text_unless_it_holds_more_than_plain_spans(browser, base_url, site):
    """The rules other than colour see plain highlighted code as its text; a code block whose spans
    carry anything else is audited as it is, and the plain blocks get their spans back for the
    colour run (which finds an unreadable token in one of them, not in the planted block)."""
    with checked_page(browser, **VARIANTS["1440-light"]) as page:
        with_an_empty_search_index(page, site)
        page.goto(base_url + "modules/modules-and-layers/")
        page.add_style_tag(content=".highlight .kn { color: #ddd !important }")
        shown = "[...document.querySelectorAll('article pre code .kn')].filter(el => el.checkVisibility())"
        page.evaluate(f"""() => {{
            const kn = {shown}.pop();
            kn.parentElement.querySelectorAll('span').forEach(span => span.setAttribute('data-planted', ''));
            kn.setAttribute('aria-bogus', 'x');
        }}""")
        page.evaluate(AXE_SOURCE)
        result = page.evaluate(AUDIT, {"layout": True, "judged": [], **COLOUR_SAMPLING})
    broken = [node["target"] for v in result["violations"] if v["id"] == "aria-valid-attr" for node in v["nodes"]]
    assert broken == ['span[aria-bogus="x"]'], broken
    faint = [node["html"] for v in result["violations"] if v["id"] == "color-contrast" for node in v["nodes"]]
    assert any('class="kn"' in html and "data-planted" not in html for html in faint), faint


@pytest.mark.parametrize("variant", ["1440-light", "390-dark"])
def test_an_open_check_note_passes_the_audit(browser, base_url, variant):
    with checked_page(browser, **VARIANTS[variant]) as page:
        page.goto(base_url + "worked-examples/parameter-count/")
        mark = page.locator(".checked-claim button.check-mark").first
        mark.focus()
        page.keyboard.press("Enter")
        note = page.locator("#" + mark.get_attribute("popovertarget"))
        expect(note).to_be_visible()
        assert run_axe(page, ".check-note:popover-open") == []


# Audits the part of the page under `selector`; returns the serious and critical violations, the
# texts on screen there, those whose contrast axe-core did not judge, and whether it judged the current page's link.
AUDIT_ON_SCREEN = """async selector => {
    const r = await axe.run(selector, {elementRef: true});
    const judged = new Set(r.passes.concat(r.violations).filter(rule => rule.id === 'color-contrast')
                                   .flatMap(rule => rule.nodes.map(n => n.element)));
    const onScreen = el => {  // it has text of its own, and shows at its centre
        if (![...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim())) return false;
        const box = el.getBoundingClientRect(), top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
        return box.width > 0 && top !== null && (top === el || el.contains(top));
    };
    return {
        violations: r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')),
        onScreen: [...document.querySelectorAll(selector + ' *')].filter(onScreen).map(el => el.textContent.trim()),
        unjudged: [...document.querySelectorAll(selector + ' *')].filter(onScreen).filter(el => !judged.has(el))
                                                                 .map(el => el.textContent.trim()),
        currentJudged: [...judged].some(el => el.closest('.md-nav__link--active')),
    };
}"""


def settle(page) -> None:
    page.wait_for_function("() => document.getAnimations().every(a => a.playState === 'finished')")


@pytest.mark.parametrize("variant", ["390-light", "390-dark"])
def test_the_navigation_drawer_on_a_phone_passes_the_audit(browser, base_url, variant):
    """The page audits pass over the phone's navigation, hidden in its closed drawer: opened, it
    is audited here, first as it opens on the current section, then back at its top level."""
    with checked_page(browser, **VARIANTS[variant]) as page:
        page.goto(base_url + "parameters/sharing/")
        page.locator("label.md-header__button[for='__drawer']").click()
        expect(page.locator(".md-sidebar--primary .md-nav__link--active").first).to_be_in_viewport()
        settle(page)
        page.evaluate(AXE_SOURCE)
        section = page.evaluate(AUDIT_ON_SCREEN, ".md-sidebar--primary")
        assert section["currentJudged"], "the current page's link was not checked"
        page.locator(".md-sidebar--primary .md-nav__item--active > nav[data-md-level='1'] > label").click()
        expect(page.locator("label.md-nav__title[for='__drawer']")).to_be_in_viewport()
        settle(page)
        top = page.evaluate(AUDIT_ON_SCREEN, ".md-sidebar--primary")
        for audit in (section, top):
            assert audit["violations"] == []
            assert audit["unjudged"] == [], "axe-core did not judge the contrast of these"
        assert "Parameter sharing" in section["onScreen"] and "Contributing" in top["onScreen"]


# A collapsed solution with a code block in it (some solutions are prose only).
SOLUTION_WITH_CODE = "article details:has(.highlight)"


@pytest.mark.parametrize("variant", ["1440-light", "390-dark"])
def test_an_open_solution_passes_the_audit(browser, base_url, variant):
    """The page audits pass over what a closed solution hides; opened, it is audited here."""
    with checked_page(browser, **VARIANTS[variant]) as page:
        page.goto(base_url + "worked-examples/parameter-count/")
        page.locator(f"{SOLUTION_WITH_CODE} summary").first.click()
        expect(page.locator("article details[open] .highlight").first).to_be_visible()
        settle(page)
        assert run_axe(page, "article details[open]") == []


# --- Keyboard -------------------------------------------------------------------------------------

# Records, on each focus change, what got the focus and whether it shows that it has it.
FOCUS_LOG = """() => {
    window.__focusLog = [];
    document.addEventListener('focusin', event => {
        const el = event.target, style = getComputedStyle(el);
        window.__focusLog.push({
            tag: el.tagName.toLowerCase(), cls: String(el.className), text: el.textContent.trim().slice(0, 40),
            href: el.getAttribute('href') || '', copy: el.matches("[data-md-type='copy']"),
            visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                     || style.boxShadow !== 'none' || style.backgroundColor !== 'rgba(0, 0, 0, 0)'
                     || style.textDecorationLine.includes('underline'),
        });
    });
}"""


def tab_until(page, predicate: str, limit: int = 400) -> int:
    """Press Tab until `predicate(document.activeElement)` holds; the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => ({predicate})(document.activeElement)"):
            return presses
    raise AssertionError(f"{limit} presses of Tab did not reach {predicate}")


@pytest.fixture
def keyboard_page(browser):
    with checked_page(browser, **VARIANTS["1440-light"]) as page:
        yield page


def test_tab_reaches_every_kind_of_control_and_each_shows_its_focus(keyboard_page, base_url):
    """From the top of a chapter, Tab visits the search box, the navigation, the check marks, the
    copy buttons, the collapsed solutions and the notebook links, each with a visible focus."""
    page = keyboard_page
    page.goto(base_url + "worked-examples/parameter-count/")
    page.wait_for_selector("article .highlight [data-md-type='copy']", state="attached")
    page.evaluate(FOCUS_LOG)
    stops = page.evaluate("""() => [...document.querySelectorAll('a[href], button, input, summary, [tabindex]')]
        .filter(el => el.tabIndex >= 0 && el.getClientRects().length).length""")
    for _ in range(stops + 5):
        page.keyboard.press("Tab")
    log = page.evaluate("() => window.__focusLog")
    reached = {
        "search box": [e for e in log if "md-search__input" in e["cls"]],
        "navigation": [e for e in log if "md-nav__link" in e["cls"]],
        "check marks": [e for e in log if "check-mark" in e["cls"]],
        "copy buttons": [e for e in log if e["copy"]],
        "solutions": [e for e in log if e["tag"] == "summary"],
        "notebook links": [e for e in log if "md-button" in e["cls"]],
    }
    assert {name: len(found) for name, found in reached.items() if not found} == {}, "Tab never reached these"
    # The search box shows its focus by opening the search (and a caret); the others by their style.
    reached.pop("search box")
    unseen = {name: [e["text"] or e["cls"] for e in found if not e["visible"]] for name, found in reached.items()}
    assert {name: found for name, found in unseen.items() if found} == {}, "focused without a visible sign"


def test_search_from_the_keyboard(keyboard_page, base_url):
    page = keyboard_page
    page.goto(base_url + "modules/containers/")
    expect(page.locator(".md-search-result__meta")).to_have_text("Type to start searching", timeout=60_000)
    page.keyboard.press("/")  # Material's shortcut (so are "s" and "f")
    assert page.evaluate("document.activeElement.classList.contains('md-search__input')")
    page.keyboard.type("state_dict")
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=30_000)
    wait_for_search_results_to_settle(page)  # the list the last key asked for, which ArrowDown enters
    assert run_axe(page, ".md-search") == []  # the open dialog and its results
    page.keyboard.press("ArrowDown")  # into the results
    assert page.evaluate("document.activeElement.closest('.md-search-result__item') !== null")
    target = page.evaluate("document.activeElement.href").split("#")[0]
    page.keyboard.press("Enter")
    page.wait_for_url(f"{target}*")


def test_a_collapsed_solution_opens_and_closes_from_the_keyboard(keyboard_page, base_url):
    page = keyboard_page
    page.goto(base_url + "worked-examples/parameter-count/")
    solution = page.locator(SOLUTION_WITH_CODE).first
    assert solution.get_attribute("open") is None
    start_before(page, SOLUTION_WITH_CODE)
    tab_until(page, "el => el.tagName === 'SUMMARY'")
    page.keyboard.press("Enter")
    expect(solution).to_have_attribute("open", "")
    expect(solution.locator(".highlight").first).to_be_visible()
    page.keyboard.press("Space")
    expect(solution).not_to_have_attribute("open", "")


def start_before(page, selector: str) -> None:
    """Put the keyboard's starting point just before the first `selector` (the next Tab goes on
    from there, as after a reader clicks into the text above it)."""
    page.evaluate(
        """selector => {
            const anchor = document.createElement('span');
            anchor.tabIndex = -1;
            document.querySelector(selector).before(anchor);
            anchor.focus();
        }""",
        selector,
    )


def test_a_copy_button_copies_from_the_keyboard(browser, base_url):
    with checked_page(browser, **VARIANTS["1440-light"], permissions=["clipboard-read", "clipboard-write"]) as page:
        page.goto(base_url + "worked-examples/parameter-count/")
        page.wait_for_selector("article .highlight [data-md-type='copy']", state="attached")
        start_before(page, "article .highlight")
        tab_until(page, "el => el.matches(\"[data-md-type='copy']\")")
        code = page.evaluate("document.activeElement.closest('.highlight').querySelector('pre > code').innerText")
        page.keyboard.press("Enter")
        expect(page.locator(".md-dialog")).to_contain_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.strip() == code.strip()


def test_notebook_links_take_the_focus_visibly_and_open_the_notebook(keyboard_page, base_url):
    page = keyboard_page
    page.goto(base_url + "worked-examples/parameter-count/")
    links = page.locator(".notebook-links a.md-button")
    assert links.count() == 3
    style = "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.boxShadow, s.backgroundColor, s.color]; }"
    start_before(page, ".notebook-links")
    looks = []
    for index in range(3):
        tab_until(page, "el => el.classList.contains('md-button')", limit=5)
        assert page.evaluate("document.activeElement") is not None
        assert page.evaluate("document.activeElement.href") == links.nth(index).evaluate("a => a.href")
        looks.append(page.evaluate(style))
    unfocused = links.first.evaluate(
        "a => { a.blur(); const s = getComputedStyle(a); return [s.outlineStyle, s.boxShadow, s.backgroundColor, s.color]; }"
    )
    assert all(look != unfocused for look in looks), "a focused notebook link looks as it does unfocused"
    links.last.focus()
    page.keyboard.press("Enter")  # "View as notebook" (the Colab link would leave localhost)
    page.wait_for_url("**/notebooks/worked-examples/parameter-count/")
    expect(page.locator(".jupyter-wrapper")).to_be_visible()


def test_the_navigation_works_from_the_keyboard(keyboard_page, base_url):
    page = keyboard_page
    page.goto(base_url)
    tab_until(
        page,
        "el => el.matches('nav.md-nav--primary a.md-nav__link[href]') && el.textContent.includes('Parameter sharing')",
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**/parameters/sharing/")


# --- Phone ----------------------------------------------------------------------------------------

PHONE_PAGES = ["worked-examples/parameter-count/", "saving-and-devices/devices/", "practice/pitfalls/"]

# Elements of the article whose own text reaches past the screen's edges, outside a scrolling box;
# and the boxes of code and tables, with whether each is wider than it shows and scrolls.
PHONE_LAYOUT = """() => {
    const width = window.innerWidth;
    const scrollsSideways = el => /auto|scroll/.test(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth;
    const insideScroller = el => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (scrollsSideways(p)) return true;
        return false;
    };
    const cut = [];
    for (const el of document.querySelectorAll('article *')) {
        const ownText = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
        if (!ownText) continue;
        const box = el.getBoundingClientRect();
        if (!box.width || (box.left >= -1 && box.right <= width + 1)) continue;
        if (!insideScroller(el)) cut.push(el.tagName + ' ' + el.textContent.trim().slice(0, 60));
    }
    const boxes = [...document.querySelectorAll('article pre > code, article .md-typeset__scrollwrap')].map(el => ({
        what: el.tagName, wide: el.scrollWidth > el.clientWidth, scrolls: scrollsSideways(el),
        inside: el.getBoundingClientRect().right <= width + 1 && el.getBoundingClientRect().left >= -1,
    }));
    return {scrollWidth: document.scrollingElement.scrollWidth, width, cut, boxes};
}"""


def test_on_a_phone_nothing_is_cut_off_and_wide_boxes_scroll_inside(browser, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    with checked_page(browser, **VARIANTS["390-light"]) as page:
        for path in PHONE_PAGES:
            page.goto(base_url + path)
            page.wait_for_selector("article .md-typeset__scrollwrap, article table", state="attached")
            layout = page.evaluate(PHONE_LAYOUT)
            assert layout["scrollWidth"] <= layout["width"], f"/{path} scrolls sideways at 390 px"
            assert layout["cut"] == [], f"/{path}: text past the screen's edge"
            assert all(box["inside"] for box in layout["boxes"]), f"/{path}: a code box or table sticks out"
            wide = [box for box in layout["boxes"] if box["wide"]]
            assert wide, f"/{path}: expected wide code or tables at 390 px"
            assert all(box["scrolls"] for box in wide), f"/{path}: a wide box does not scroll"
            page.screenshot(path=str(ARTIFACTS / f"phone-{path.strip('/').replace('/', '-')}.png"), full_page=True)
