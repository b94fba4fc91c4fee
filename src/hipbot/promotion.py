"""Product neutrality: mark promoting sentences at index time, hide them from health answers."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .chunking import Chunk

PRODUCT = "p"  # names a product, the brand or the store's book, or plugs them
COMMERCIAL = "c"  # prices, deals, codes, shipping offers, calls to buy
PROMO_PENALTY = 0.3  # how far a passage that is mostly promotion sinks in a health answer
MOSTLY = 0.5  # the share of promoting words that makes a passage "mostly promotion"

# The store's products, brand and book, as the articles name them.
PRODUCT_NAMES = re.compile(
    r"hip\s*hook|(hip\s+)?(flexor\s+)?release\s+ball|pso-?rite|#?fix\s*your\s*hip\s*kit|resistance\s+band|"
    r"loop\s+band|twisted\s+core|tight\s+hip,?\s+twisted|tight\s+hi,|aletha|alethahealth",
    re.IGNORECASE,
)
# Plugs that point at the products or the book without naming them.
PRODUCT_PLUGS = re.compile(
    r"\b(my|the|this|her|our|your) book\b|\bbook about\b|\bi invented\b|"
    r"\b(device|tool|gadget|product)s? (specifically |that i |i )?"
    r"(designed|invented|created|developed|made)\b|"
    r"\b(designed|invented|created|developed) (specifically )?by (christine|me|us)\b|"
    r"\b(our|these|this) (tools?|products?)\b|"
    r"\bthe tool\b|\bcontact us\b|\binstagram\b|@\w+\.com|\bshow notes\b|\b(your|a) copy\b",
    re.IGNORECASE,
)
COMMERCIAL_TERMS = re.compile(
    r"\$\s?\d|\bprices?\b|\bpriced\b|\bdiscount|\bpromo|\bcoupon|\bdeals?\b|\bshipping\b|\bship\b|"
    r"\blimited time\b|\bregular price\b|"
    r"\b(buy|purchase|order) (the|a|one|yours|it|now|today|both)\b|\bget yours\b|"
    r"\bbestselling\b|\bspecial (little spot|package|offer)|\bwe(’|')?re offering\b|\bwe are offering\b|"
    r"\bfollow the link\b|\binvestment in your health\b|\bcodes?\b|\bsale\b|\bcheck out\b|\bpackage deals?\b",
    re.IGNORECASE,
)
# What a person asking about a product by name (or by "the hook", "your tool") might type.
PRODUCT_QUESTION = re.compile(
    PRODUCT_NAMES.pattern
    + r"|\bhook\b|\b(the|a|your|that) (release )?ball\b|\byour (tool|tools|product|products|book|kit)\b|"
    r"\b(hip )?kit\b|\bbundle\b|\bthe book\b|\brelease tools?\b|\bpsoas (release )?(tool|gadget)s?\b",
    re.IGNORECASE,
)
COMMERCE_QUESTION = re.compile(
    r"\bprices?\b|\bcost(s|ing)?\b|\bhow much (is|are|does|do|for)\b|\bdiscount|\bpromo|\bcoupon|\bcodes?\b|"
    r"\b(any|best|current|a) deals?\b|\bdeals? on\b|\bsale\b|\bship(s|ping|ped)?\b|\bdeliver(y|ed)?\b|"
    r"\brefund|\breturn policy\b|\bin stock\b|\bwhere (can|do) i (buy|get|order)\b",
    re.IGNORECASE,
)
STORE_NOTE = "These articles are published by the store that sells it."
STORE_PAGES = (
    "I don't quote prices, codes or shipping terms. The store's own product and shipping pages have the "
    "current details, and its customer service can answer questions about an order."
)


def promotion_fingerprint() -> str:
    """A short hash of the promotion patterns: the index is rebuilt when they change."""
    patterns = (PRODUCT_NAMES.pattern, PRODUCT_PLUGS.pattern, COMMERCIAL_TERMS.pattern)
    return hashlib.sha256("\n".join(patterns).encode()).hexdigest()[:12]


def sentence_flags(sentence: str) -> str:
    """ "p" when a sentence names or plugs a product, "c" when it sells (prices, deals, codes, shipping)."""
    flags = ""
    if PRODUCT_NAMES.search(sentence) or PRODUCT_PLUGS.search(sentence):
        flags += PRODUCT
    if COMMERCIAL_TERMS.search(sentence):
        flags += COMMERCIAL
    return flags


def mark_chunk(chunk: Chunk) -> None:
    """Store each sentence's flags on the passage."""
    chunk.flags = [sentence_flags(s) for s in chunk.sentences]


def hidden_sentences(chunk: Chunk, product_question: bool) -> set[int]:
    """Sentences to elide: all promotion in a health answer; selling (not facts) in a product answer."""
    if product_question:
        return {i for i, flags in enumerate(chunk.flags) if COMMERCIAL in flags}
    return {i for i, flags in enumerate(chunk.flags) if flags}


def promotion_share(chunk: Chunk) -> float:
    """The share of a passage's words that promote."""
    sizes = [len(s.split()) for s in chunk.sentences]
    total = sum(sizes) or 1
    return sum(size for size, flags in zip(sizes, chunk.flags, strict=False) if flags) / total


def promotion_penalties(chunks: list[Chunk]) -> np.ndarray:
    """Per passage, how far it ranks down in a health answer: mostly-promotion passages sink."""
    return np.array(
        [PROMO_PENALTY if promotion_share(c) >= MOSTLY else 0.0 for c in chunks], dtype=np.float32
    )


def is_product_question(message: str) -> bool:
    """Whether a message asks about one of the store's products by name."""
    return bool(PRODUCT_QUESTION.search(message))


def is_commerce_question(message: str) -> bool:
    """Whether a message asks about prices, deals, codes, shipping or buying terms."""
    return bool(COMMERCE_QUESTION.search(message))


def names_a_product(text: str) -> bool:
    """Whether a text names a product, the brand or the book."""
    return bool(PRODUCT_NAMES.search(text))
