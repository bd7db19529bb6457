"""``waybill completion bash|zsh|fish``: a shell completion script, generated from the parser so
it always knows every command and flag. Kinds complete for ``get``/``describe``; member names
(asked from the hub with ``waybill get clusters -o jsonpath``) for the commands taking a member.

Install: ``source <(waybill completion bash)``; zsh: ``source <(waybill completion zsh)``;
fish: ``waybill completion fish | source``.
"""

from __future__ import annotations

import argparse
from typing import Any

from waybill import kinds

SHELLS = ("bash", "zsh", "fish")
MEMBER_COMMANDS = ("cordon", "uncordon", "unjoin")
KIND_COMMANDS = ("get", "describe")
_MEMBERS = "waybill get clusters -o 'jsonpath={.items[*].metadata.name}' 2>/dev/null"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script: source <(waybill completion bash)",
    )
    parser.add_argument("shell", choices=SHELLS)
    parser.set_defaults(handler=run)


def commands() -> dict[str, tuple[str, list[str]]]:
    """command → (help, its flags), read from the full parser."""
    from waybill.cli import build_parser

    parser = build_parser()
    out: dict[str, tuple[str, list[str]]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                flags = sorted({o for a in sub._actions for o in a.option_strings})
                out[name] = (helps.get(name, ""), flags)
    return out


def bash_script(table: dict[str, tuple[str, list[str]]]) -> str:
    member_kind = next(k for k in kinds.WAYBILL_KINDS if k.kind == "MemberCluster")
    member_words = " ".join(sorted(member_kind.words()))
    cases = "\n".join(
        f'        {name}) opts="{" ".join(flags)}" ;;' for name, (_, flags) in sorted(table.items())
    )
    return f"""# waybill bash completion: source <(waybill completion bash)
_waybill() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}"
    local cmd="${{COMP_WORDS[1]}}"
    local opts=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "{" ".join(sorted(table))}" -- "$cur") )
        return
    fi
    case "$cmd" in
{cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
        return
    fi
    case "$cmd" in
        {"|".join(KIND_COMMANDS)})
            if [ "$COMP_CWORD" -eq 2 ]; then
                COMPREPLY=( $(compgen -W "{" ".join(kinds.all_kind_words())}" -- "$cur") )
            elif [[ " {member_words} " == *" ${{COMP_WORDS[2]}} "* ]]; then
                COMPREPLY=( $(compgen -W "$({_MEMBERS})" -- "$cur") )
            fi ;;
        {"|".join(MEMBER_COMMANDS)})
            COMPREPLY=( $(compgen -W "$({_MEMBERS})" -- "$cur") ) ;;
        completion)
            COMPREPLY=( $(compgen -W "{" ".join(SHELLS)}" -- "$cur") ) ;;
        taint)
            if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "clusters" -- "$cur") );
            elif [ "$COMP_CWORD" -eq 3 ]; then COMPREPLY=( $(compgen -W "$({_MEMBERS})" -- "$cur") ); fi ;;
    esac
}}
complete -o default -F _waybill waybill
complete -o default -F _waybill kubectl-waybill
"""


def zsh_script(table: dict[str, tuple[str, list[str]]]) -> str:
    return "# waybill zsh completion: source <(waybill completion zsh)\n" + (
        "autoload -U +X bashcompinit && bashcompinit\n" + bash_script(table).split("\n", 1)[1]
    )


def fish_script(table: dict[str, tuple[str, list[str]]]) -> str:
    lines = ["# waybill fish completion: waybill completion fish | source", "complete -c waybill -f"]
    for name, (text, flags) in sorted(table.items()):
        description = text.replace("'", "\\'")
        lines.append(f"complete -c waybill -n __fish_use_subcommand -a {name} -d '{description}'")
        for flag in flags:
            if flag.startswith("--"):
                lines.append(f"complete -c waybill -n '__fish_seen_subcommand_from {name}' -l {flag[2:]}")
            elif flag.startswith("-") and len(flag) == 2:
                lines.append(f"complete -c waybill -n '__fish_seen_subcommand_from {name}' -s {flag[1:]}")
    words = " ".join(kinds.all_kind_words())
    lines.append(
        f"complete -c waybill -n '__fish_seen_subcommand_from {' '.join(KIND_COMMANDS)}' -a '{words}'"
    )
    lines.append(
        f"complete -c waybill -n '__fish_seen_subcommand_from {' '.join(MEMBER_COMMANDS)}' "
        f"-a '({_MEMBERS} | string split \" \")'"
    )
    lines.append(f"complete -c waybill -n '__fish_seen_subcommand_from completion' -a '{' '.join(SHELLS)}'")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    table = commands()
    script = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[args.shell](table)
    print(script, end="")
    return 0
