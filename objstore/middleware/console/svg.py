"""Server-side SVG plots for the console: no JavaScript, no CDN.

Owns two charts, as SVG text to inline in a page: ``bar_chart`` (one bar
per label, e.g. partitions per device) and ``line_plot`` (series of
(time, value) over a time window, e.g. the last hour). Every text that
comes from outside (labels, series names, titles) is escaped. Pure.

Geometry: the plot area is the image less a margin for the axis labels;
a value v maps to ``top + height * (1 - v / peak)``, so the tallest bar or
the highest point touches the top of the area (peak is at least 1 so
that all-zero data draws flat on the axis instead of dividing by zero).
"""

from html import escape

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 56
MARGIN_BOTTOM = 40
MARGIN_TOP = 24
MARGIN_RIGHT = 16
LEGEND_LINE = 14
COLOURS = ('#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd',
           '#8c564b', '#e377c2', '#7f7f7f')


def _number(value):
    """Short text of a number for an axis or a bar.

    >>> _number(1234.0), _number(0.25), _number(3)
    ('1234', '0.25', '3')
    """
    if float(value).is_integer():
        return '%d' % value
    return '%.3g' % value


def _frame(title, width, height, body):
    return ('<svg xmlns="http://www.w3.org/2000/svg" role="img" '
            'width="%d" height="%d" viewBox="0 0 %d %d" '
            'font-family="sans-serif" font-size="11">'
            '<title>%s</title>'
            '<text x="%d" y="14" font-size="13">%s</text>%s</svg>'
            % (width, height, width, height, escape(title), MARGIN_LEFT,
               escape(title), body))


def _y_axis(peak, width, height):
    """The axis lines and the 0 / peak labels."""
    bottom = height - MARGIN_BOTTOM
    return ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>'
            '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>'
            '<text x="%d" y="%d" text-anchor="end">0</text>'
            '<text x="%d" y="%d" text-anchor="end">%s</text>'
            % (MARGIN_LEFT, MARGIN_TOP, MARGIN_LEFT, bottom,
               MARGIN_LEFT, bottom, width - MARGIN_RIGHT, bottom,
               MARGIN_LEFT - 4, bottom, MARGIN_LEFT - 4, MARGIN_TOP + 8,
               _number(peak)))


def _scale_y(value, peak, height):
    area = height - MARGIN_TOP - MARGIN_BOTTOM
    return MARGIN_TOP + area * (1 - value / peak)


def bar_chart(title, labels, values, width=WIDTH, height=HEIGHT):
    """SVG of one bar per (label, value), each with its value on top and
    a tooltip naming both."""
    peak = max([1] + [v for v in values])
    area = width - MARGIN_LEFT - MARGIN_RIGHT
    slot = area / max(1, len(values))
    bottom = height - MARGIN_BOTTOM
    parts = [_y_axis(peak, width, height)]
    for index, (label, value) in enumerate(zip(labels, values)):
        x = MARGIN_LEFT + slot * index + slot * 0.1
        top = _scale_y(value, peak, height)
        parts.append(
            '<g class="bar"><title>%s: %s</title>'
            '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
            'fill="%s"/>'
            '<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'
            '<text x="%.1f" y="%d" text-anchor="middle">%s</text></g>'
            % (escape(str(label)), _number(value), x, top, slot * 0.8,
               bottom - top, COLOURS[0], x + slot * 0.4, top - 3,
               _number(value), x + slot * 0.4, bottom + 14,
               escape(str(label))))
    return _frame(title, width, height, ''.join(parts))


def line_plot(title, series, now, window, width=WIDTH, height=HEIGHT):
    """SVG of each named series of (time, value) over the ``window``
    seconds before ``now``, with a legend; a series with no point in the
    window is listed as having no data."""
    start = now - window
    shown = {name: [(t, v) for t, v in points if start <= t <= now]
             for name, points in series.items()}
    # One legend line per series under the plot; the image grows to fit.
    total_height = height + LEGEND_LINE * len(shown)
    peak = max([1] + [v for points in shown.values() for _t, v in points])
    area = width - MARGIN_LEFT - MARGIN_RIGHT
    parts = [_y_axis(peak, width, height),
             '<text x="%d" y="%d">-%dm</text>'
             '<text x="%d" y="%d" text-anchor="end">now</text>'
             % (MARGIN_LEFT, height - MARGIN_BOTTOM + 14, window // 60,
                width - MARGIN_RIGHT, height - MARGIN_BOTTOM + 14)]
    for index, name in enumerate(sorted(shown)):
        colour = COLOURS[index % len(COLOURS)]
        coords = [(MARGIN_LEFT + area * (t - start) / window,
                   _scale_y(v, peak, height)) for t, v in shown[name]]
        legend = escape(name) if coords else '%s (no data)' % escape(name)
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>'
                     % (MARGIN_LEFT, height - MARGIN_BOTTOM + 30
                        + LEGEND_LINE * index, colour, legend))
        if coords:
            parts.append(
                '<polyline class="series" fill="none" stroke="%s" '
                'stroke-width="2" points="%s"><title>%s</title></polyline>'
                % (colour, ' '.join('%.1f,%.1f' % xy for xy in coords),
                   escape(name)))
            parts.extend('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>'
                         % (x, y, colour) for x, y in coords)
    return _frame(title, width, total_height, ''.join(parts))
