"""The Jinja2 environment of a workspace's templates, one per language: its own templates/ over the package's."""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from .locale import stored_day, translations
from .markup import inline_html, inline_text, wrap
from .theme import template_folders, templates_version, words_version

if TYPE_CHECKING:  # Jinja2 is imported when a template is first needed
    from jinja2 import Environment, Template
    from jinja2.bccache import BytecodeCache

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"


def _autoescape(name: str | None) -> bool:
    # The MJML and page templates are markup: escape everything. The text part and the Markdown
    # skeleton of a new issue are plain text: escape nothing.
    return name is not None and not name.endswith((".txt.j2", ".md.j2"))


def _yaml_scalar(value: str) -> str:
    """A string as a YAML scalar (JSON's quoting is valid YAML)."""
    import json

    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=1)
def compiled_templates() -> BytecodeCache:
    """Templates compiled once per process, for every environment below, by name and source.

    The environments differ only in their folder and their gettext, which the compiled code looks up when
    it runs, so a template's code depends on its name and source alone: `send` renders each language in
    an environment of its own, and the tests render hundreds of workspaces that use the package's templates.
    A template whose source changed is compiled anew (its checksum is part of the key).
    """
    from jinja2.bccache import Bucket, BytecodeCache

    class CompiledTemplates(BytecodeCache):
        def __init__(self) -> None:
            self.compiled: dict[str, bytes] = {}

        def get_bucket(self, environment, name: str, filename: str | None, source: str) -> Bucket:
            checksum = self.get_source_checksum(source)
            bucket = Bucket(environment, self.get_cache_key(f"{name}|{checksum}"), checksum)
            self.load_bytecode(bucket)
            return bucket

        def load_bytecode(self, bucket: Bucket) -> None:
            code = self.compiled.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket: Bucket) -> None:
            self.compiled[bucket.key] = bucket.bytecode_to_string()

    return CompiledTemplates()


@lru_cache(maxsize=16)
def environment(templates_dir: Path, locales_dir: Path, language: str, version: tuple) -> Environment:
    """A Jinja2 environment whose gettext speaks `language` (`version`: of its catalogs and template folders)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        # A template of the workspace's templates/ wins over the package's of the same name, also where a
        # package template extends or includes it (render/theme.py).
        loader=FileSystemLoader(template_folders(templates_dir)),
        autoescape=_autoescape,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=compiled_templates(),
    )
    words = translations(locales_dir, language)
    env.install_gettext_translations(words, newstyle=True)  # type: ignore[attr-defined]  # jinja2.ext.i18n adds it
    env.globals["_"] = _gettext(words.gettext)
    env.filters.update(
        inline=inline_html,
        inline_text=inline_text,
        wrap=wrap,
        yaml=_yaml_scalar,
        day=partial(stored_day, language=language),
    )
    return env


def _gettext(translate):
    """`_()` as jinja2's newstyle gettext behaves (escaped in markup templates, %-formatted with its keywords,
    always), called straight: jinja2's alias looks `gettext` up and calls through the context twice more."""
    from jinja2 import pass_context
    from markupsafe import Markup

    @pass_context
    def gettext(context, string: str, /, **variables):
        text = translate(string)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables

    return gettext


def environment_for(templates_dir: Path, locales_dir: Path, language: str) -> Environment:
    """The (cached) environment of a language, renewed when its catalogs change or the workspace adds or removes
    a template."""
    version = (words_version(locales_dir, language), templates_version(templates_dir))
    return environment(templates_dir, locales_dir, language, version)


def templates_for(templates_dir: Path, locales_dir: Path, language: str) -> tuple[Template, Template]:
    """The HTML (MJML) and text templates for a language."""
    env = environment_for(templates_dir, locales_dir, language)
    return env.get_template(HTML_TEMPLATE), env.get_template(TEXT_TEMPLATE)
