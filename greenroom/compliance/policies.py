"""Policy checks before publishing: each rule of the channel's organisation, brand or region is
matched against what the variant would publish (its text with its link, and its first comment).

Registered with publishing as its policy check (`content.register_policy_check`), so the
submission for approval, the composer's live check and the engine, just before sending, all
apply the same rules. One query per variant (the rules that apply to its channel), or one per
organisation inside `rules_read_once()`, which the engine holds around a claimed chunk.

Matching, in short:
- banned terms and disclosures ignore case; a term in a script written without spaces between
  words or with particles attached (Korean, also Japanese and Chinese) matches anywhere, any
  other term only as a whole word (so "ad" is not found in "adventure", but "도박" is found in
  "도박을");
- links are found in the text whether they carry a scheme or not ("acme.com/sale"), plus the
  post's link; a domain covers its subdomains (shop.acme.com is on acme.com);
- personal data: e-mail addresses; Korean resident registration numbers (YYMMDD-NNNNNNN);
  phone numbers: Korean mobiles (010-1234-5678, 01012345678), Korean landlines written with
  separators (02-123-4567), international numbers with + and North American (555) 123-4567.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

from django.db.models import Q
from django.utils.translation import gettext as _
from twitter_text import extract_urls

from greenroom.compliance.models import PersonalData, PolicyRule, RuleEffect, RuleKind
from greenroom.core.models import Channel
from greenroom.publishing import content
from greenroom.publishing.content import PolicyFinding
from greenroom.publishing.models import Variant

# Scripts written without spaces between words, or with particles glued to words: Hangul
# (syllables and jamo), kana and CJK ideographs.
_NO_WORD_BREAKS = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]"
)


def term_pattern(term: str) -> re.Pattern[str]:
    """How one banned term or disclosure is found in a text (see the module docstring)."""
    words = term.split()
    body = r"\s+".join(re.escape(word) for word in words)
    if _NO_WORD_BREAKS.search(term):
        return re.compile(body, re.IGNORECASE)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def find_terms(text: str, terms: Iterable[str]) -> list[str]:
    """The terms (as the rule writes them) that occur in `text`."""
    return [term for term in terms if term.strip() and term_pattern(term).search(text)]


# --- Links ---------------------------------------------------------------------------------------


def normalise_domain(value: str) -> str:
    """A domain as rules compare it: lower case, no trailing dot, IDNA (punycode) form."""
    host = value.strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def host_of(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return normalise_domain(host)


def on_domain(host: str, domain: str) -> bool:
    """Whether `host` is `domain` or one of its subdomains."""
    domain = normalise_domain(domain)
    return bool(domain) and (host == domain or host.endswith("." + domain))


def link_hosts(text: str, links: Sequence[str]) -> list[str]:
    """Every distinct host linked from the text or the post's link, in order of appearance."""
    hosts = [host_of(url) for url in [*extract_urls(text), *links] if url]
    return list(dict.fromkeys(h for h in hosts if h))


# --- Personal data -------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_RRN = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?-?\s?[1-8]\d{6}(?!\d)")
_PHONES = (
    # Korean mobiles, with or without separators.
    re.compile(r"(?<![\d+])01[016789][-.\s]?\d{3,4}[-.\s]?\d{4}(?!\d)"),
    # Korean landlines (Seoul 02, regions 031-064, internet phones 070), with separators.
    re.compile(
        r"(?<![\d+])(?:0(?:2|[3-6][1-5]|70)|\(0(?:2|[3-6][1-5]|70)\))[-.\s)]?\s?\d{3,4}[-.\s]\d{4}(?!\d)"
    ),
    # International, written with a +.
    re.compile(
        r"(?<![\w+])\+\d{1,3}[-.\s]?(?:\(\d{1,4}\)[-.\s]?)?\d{1,4}(?:[-.\s]?\d{2,4}){2,4}(?!\d)"
    ),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567.
    re.compile(r"(?<![\d\w])(?:\(\d{3}\)\s?|\d{3}[-.\s])\d{3}[-.\s]\d{4}(?!\d)"),
)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def find_personal_data(text: str, kinds: Iterable[str]) -> list[tuple[str, str]]:
    """(kind, what was found) for each piece of personal data of `kinds` in the text.

    Links are left out first (tracking ids in a URL are not phone numbers), and each match is
    blanked before the next pattern runs, so one number is not reported twice.
    """
    wanted = set(kinds)
    found: list[tuple[str, str]] = []
    emails = list(_EMAIL.finditer(text))
    if PersonalData.EMAIL in wanted:
        found += [(PersonalData.EMAIL, m.group()) for m in emails]
    rest = _blank(text, [m.span() for m in emails])
    url_spans = []
    for url in extract_urls(rest):
        start = rest.find(url)
        if start >= 0:
            url_spans.append((start, start + len(url)))
    rest = _blank(rest, url_spans)
    rrns = list(_RRN.finditer(rest))
    if PersonalData.RRN in wanted:
        found += [(PersonalData.RRN, m.group().strip()) for m in rrns]
    rest = _blank(rest, [m.span() for m in rrns])
    if PersonalData.PHONE in wanted:
        for pattern in _PHONES:
            matches = list(pattern.finditer(rest))
            found += [(PersonalData.PHONE, m.group().strip()) for m in matches]
            rest = _blank(rest, [m.span() for m in matches])
    return found


# --- Rules ---------------------------------------------------------------------------------------


# Inside `rules_read_once()`: each organisation's active rules, read once.
_read_once: ContextVar[dict[int, list[PolicyRule]] | None] = ContextVar(
    "policy_rules_read_once", default=None
)


@contextmanager
def rules_read_once() -> Iterator[None]:
    """Read each organisation's rules once within the block (for a batch of variants checked
    together); outside it every check reads the rules afresh."""
    token = _read_once.set({})
    try:
        yield
    finally:
        _read_once.reset(token)


def rules_for(channel: Channel) -> list[PolicyRule]:
    """The active rules of the channel's organisation that apply to its brand and region."""
    if not channel.organization_id:
        return []
    region = (channel.region or "").strip()
    read = _read_once.get()
    if read is None:
        return list(
            PolicyRule.objects.filter(organization_id=channel.organization_id, is_active=True)
            .filter(Q(brand__isnull=True) | Q(brand_id=channel.brand_id))
            .filter(Q(region="") | Q(region__iexact=region))
            .order_by("name", "pk")
        )
    rules = read.get(channel.organization_id)
    if rules is None:
        rules = read[channel.organization_id] = list(
            PolicyRule.objects.filter(
                organization_id=channel.organization_id, is_active=True
            ).order_by("name", "pk")
        )
    # The same choice as the query above, made in Python over the organisation's rules.
    return [
        rule
        for rule in rules
        if (rule.brand_id is None or rule.brand_id == channel.brand_id)
        and (rule.region == "" or rule.region.casefold() == region.casefold())
    ]


# A finding's words: a function that writes Greenroom's sentence in the active language, so a
# notice can say it again in its reader's (the engine's failure notice to a post's author). The
# rule's name and reason are the organisation's own words and go in unchanged.
Render = Callable[[], str]


def _with_reason(render: Render, reason: str) -> Render:
    reason = reason.strip()
    return (lambda: f"{render()} {reason}") if reason else render


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"“{v}”" for v in values)


def _banned(rule: PolicyRule, text: str, links: Sequence[str], sponsored: bool) -> Render | None:
    hits = find_terms(text, rule.terms)
    if not hits:
        return None
    name = rule.name
    return lambda: (
        _("“%(rule)s” does not allow %(terms)s in posts.")
        % {
            "rule": name,
            "terms": _quoted(hits),
        }
    )


def _disclosure(
    rule: PolicyRule, text: str, links: Sequence[str], sponsored: bool
) -> Render | None:
    if not sponsored or find_terms(text, rule.terms):
        return None
    name, terms = rule.name, ", ".join(t for t in rule.terms if t.strip())
    return lambda: (
        _("This post is marked sponsored, so “%(rule)s” asks it to say so: add one of %(terms)s.")
        % {"rule": name, "terms": terms}
    )


def _allowed_domains(
    rule: PolicyRule, text: str, links: Sequence[str], sponsored: bool
) -> Render | None:
    outside = [
        host
        for host in link_hosts(text, links)
        if not any(on_domain(host, domain) for domain in rule.terms)
    ]
    if not outside:
        return None
    name, domains = rule.name, ", ".join(rule.terms)
    return lambda: (
        _(
            "“%(rule)s” allows links only to %(domains)s (and their subdomains); this post "
            "links to %(hosts)s."
        )
        % {"rule": name, "domains": domains, "hosts": ", ".join(outside)}
    )


def _blocked_domains(
    rule: PolicyRule, text: str, links: Sequence[str], sponsored: bool
) -> Render | None:
    hits = [
        host
        for host in link_hosts(text, links)
        if any(on_domain(host, domain) for domain in rule.terms)
    ]
    if not hits:
        return None
    name = rule.name
    return lambda: (
        _("“%(rule)s” does not allow links to %(hosts)s.")
        % {
            "rule": name,
            "hosts": ", ".join(hits),
        }
    )


def data_kind_label(kind: str) -> str:
    labels: dict[str, str] = {
        PersonalData.PHONE: _("a phone number"),
        PersonalData.EMAIL: _("an e-mail address"),
        PersonalData.RRN: _("a resident registration number"),
    }
    return labels.get(kind, kind)


def _personal(rule: PolicyRule, text: str, links: Sequence[str], sponsored: bool) -> Render | None:
    hits = find_personal_data(text, rule.data_kinds or PersonalData.values)
    if not hits:
        return None
    name = rule.name
    return lambda: (
        _(
            "“%(rule)s”: the post contains what looks like personal data: %(what)s. Remove it "
            "before publishing."
        )
        % {
            "rule": name,
            "what": "; ".join(f"{data_kind_label(kind)} ({value})" for kind, value in hits),
        }
    )


_CHECKS: dict[str, Callable[[PolicyRule, str, Sequence[str], bool], Render | None]] = {
    RuleKind.BANNED_TERMS: _banned,
    RuleKind.DISCLOSURE: _disclosure,
    RuleKind.DOMAIN_ALLOW: _allowed_domains,
    RuleKind.DOMAIN_BLOCK: _blocked_domains,
    RuleKind.PERSONAL_DATA: _personal,
}


def check_text(
    rules: Iterable[PolicyRule], text: str, *, links: Sequence[str] = (), sponsored: bool = False
) -> list[PolicyFinding]:
    """What each rule finds in a text (with its links, and whether the post is sponsored)."""
    findings = []
    for rule in rules:
        check = _CHECKS.get(rule.kind)
        render = check(rule, text, links, sponsored) if check else None
        if render is not None:
            words = _with_reason(render, rule.reason)
            findings.append(
                PolicyFinding(
                    rule=rule.name,
                    message=words(),
                    blocks=rule.action == RuleEffect.BLOCK,
                    words=words,
                )
            )
    return findings


def check_variant(variant: Variant) -> list[PolicyFinding]:
    """The policy findings of what this variant would publish (publishing's policy check)."""
    rules = rules_for(variant.channel)
    if not rules:
        return []
    text = content.final_text(variant)
    if variant.first_comment.strip():
        text = f"{text}\n\n{variant.first_comment}"
    link = content.variant_link(variant)
    return check_text(
        rules, text, links=[link] if link else [], sponsored=bool(variant.post.sponsored)
    )
