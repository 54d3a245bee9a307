"""Every block type is complete: words, links, template, plain text and Markdown."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest

from newsletter.blocks import (
    Block,
    CallToAction,
    Code,
    Heading,
    Image,
    ListBlock,
    ListItem,
    Notes,
    Paragraph,
    Quote,
    Rule,
    Span,
    Table,
    block_types,
    words,
)
from newsletter.importers.markdown import parse_markdown
from newsletter.issuefile import blocks_to_markdown
from newsletter.resources import templates_dir

LINK = "https://example.com/read"

#: one block of every type, with a link where the type can carry one
SAMPLES: dict[type[Block], Block] = {
    Heading: Heading(2, (Span("Why "), Span("sleep", href=LINK), Span(" matters"))),
    # the note mark calls the Notes sample's footnote (a note nothing calls is not kept)
    Paragraph: Paragraph(
        (Span("Read the "), Span("memoir ", href=LINK), Span("tonight."), Span("[1]", note=1))
    ),
    ListBlock: ListBlock(True, (ListItem((Span("Rest", href=LINK),), (Span("every day"),)),), 3),
    Image: Image("A child asleep", "https://example.com/a.jpg", "Nap time"),
    Quote: Quote(((Span("Sleep is a "), Span("skill", href=LINK), Span(".")),)),
    CallToAction: CallToAction("Book a call", LINK),
    Code: Code("sleep(8)"),
    Rule: Rule(),
    Notes: Notes(((1, (Span("See the "), Span("study", href=LINK), Span("."))),)),
    Table: Table(
        ((Span("Paint"),), (Span("Dries in"),)),
        (((Span("Oil", href=LINK),), (Span("24 hours"),)), ((Span("Latex"),), (Span("1 hour"),))),
    ),
}
WRITERS = ("text", "links", "to_text", "to_markdown")


def test_every_block_type_has_a_sample() -> None:
    missing = [t.__name__ for t in block_types() if t not in SAMPLES]
    assert not missing, f"add a sample of {missing} to SAMPLES in this test"


@pytest.mark.parametrize("kind", block_types(), ids=lambda t: t.__name__)
def test_block_type_defines_every_writer(kind: type[Block]) -> None:
    for name in WRITERS:
        assert name in vars(kind), f"{kind.__name__} does not define {name}()"
    assert not inspect.isabstract(kind)
    block = SAMPLES[kind]
    assert (templates_dir() / block.template).is_file(), block.template
    assert isinstance(block.to_markdown(), str) and block.to_markdown()
    assert isinstance(block.to_text(), str)
    # what is counted is what the reader of the text part gets
    for w in words(block.text()):
        assert w in block.to_text(), (kind.__name__, w)
    # a link the block carries shows in the text part and survives Markdown
    for link in block.links():
        assert link in block.to_text() and link in block.to_markdown()


def test_a_type_without_a_writer_cannot_exist() -> None:
    @dataclass(frozen=True)
    class Video(Block):
        src: str
        kind = "video"

        def text(self) -> str:
            return "A video"

        def links(self) -> list[str]:
            return [self.src]

        def to_markdown(self) -> str:
            return self.src

    with pytest.raises(TypeError, match="to_text"):
        Video("https://example.com/v.mp4")  # type: ignore[abstract]


def test_markdown_writers_round_trip() -> None:
    # footnotes stand at the end of a Markdown file, wherever they were written
    blocks = sorted((SAMPLES[t] for t in block_types()), key=lambda b: isinstance(b, Notes))
    again = parse_markdown(blocks_to_markdown(blocks))
    assert [b.kind for b in again if b.kind != "cta"] == [b.kind for b in blocks if b.kind != "cta"]
    assert [w for b in again for w in words(b.text())] == [
        w for b in blocks for w in words(b.text())
    ]


def test_link_text_spacing_in_plain_text() -> None:
    para = Paragraph(
        (
            Span("her "),
            Span("memoir ", href="https://a.example/m"),
            Span("Tragedy Plus Time", href="https://a.example/t"),
            Span(" is out."),
        )
    )
    assert " ".join(para.to_text().split()) == (
        "her memoir (https://a.example/m) Tragedy Plus Time (https://a.example/t) is out."
    )
