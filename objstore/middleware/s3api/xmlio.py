"""XML in and out for the S3 API.

Owns parsing the XML clients send (bucket configuration, multi-delete,
ACLs) and building the XML documents S3 answers with. Parsing goes
through defusedxml: no DTDs, no entities (no external fetch, no
entity-expansion bombs), and a size bound checked before parsing; the
element names come back without their namespace, as clients send S3's
namespace or none. Output is built with ElementTree, never by string
concatenation, so names with ``<`` or ``&`` in them cannot break it.

Pure: bytes in, elements or bytes out.
"""

from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/'
XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance'
# The largest document the API takes (a multi-delete of 1,000 long keys
# is the biggest legitimate one: AWS caps request XML alike).
MAX_XML_SIZE = 2 * 1024 * 1024


class XMLError(ValueError):
    """The body is not well-formed, too big, or unsafe XML."""


def _strip_namespace(tag):
    return tag.rsplit('}', 1)[-1]


def parse_xml(body, max_size=MAX_XML_SIZE):
    """The root element of ``body`` with namespaces removed from tags.

    >>> parse_xml(b'<a xmlns="urn:x"><b>1</b></a>').find('b').text
    '1'
    >>> try:
    ...     parse_xml(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
    ... except XMLError as err:
    ...     print(err)
    unsafe XML: DTD forbidden
    """
    if len(body) > max_size:
        raise XMLError('XML body larger than %d bytes' % max_size)
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True,
                          forbid_external=True)
    except DefusedXmlException as err:
        raise XMLError('unsafe XML: %s' % _defused_reason(err)) from None
    except ElementTree.ParseError as err:
        raise XMLError('not well-formed: %s' % err) from None
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = _strip_namespace(element.tag)
    return root


def _defused_reason(err):
    return 'DTD forbidden' if type(err).__name__ == 'DTDForbidden' \
        else type(err).__name__


def child_text(element, name, default=None):
    """The text of ``element``'s first child ``name``, or ``default``."""
    child = element.find(name)
    if child is None:
        return default
    return child.text or ''


def _fill(parent, children):
    """Add ``children`` to ``parent``: (name, value) pairs where the value
    is text (str or int), None (an empty element) or a list of pairs (a
    nested element); a name may be (name, {attribute: value})."""
    for name, value in children:
        attributes = {}
        if isinstance(name, tuple):
            name, attributes = name
        element = ElementTree.SubElement(parent, name, attributes)
        if isinstance(value, list):
            _fill(element, value)
        elif isinstance(value, bool):
            element.text = 'true' if value else 'false'
        elif value is not None:
            element.text = str(value)


def to_xml(root_name, children, namespace=S3_NAMESPACE, attributes=None):
    """An XML document, bytes with the XML declaration; ``children`` is a
    list of (name, value) pairs (see ``_fill``) or the root's text.

    >>> to_xml('A', [('B', 'x<y'), ('C', [('D', 1)]), ('E', None)])[39:]
    b'<A xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><B>x&lt;y</B>\
<C><D>1</D></C><E /></A>'
    """
    root = ElementTree.Element(root_name)
    if namespace:
        root.set('xmlns', namespace)
    for name, value in (attributes or {}).items():
        root.set(name, value)
    if isinstance(children, str):
        root.text = children or None
    else:
        _fill(root, children)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + \
        ElementTree.tostring(root, encoding='utf-8', xml_declaration=False)
