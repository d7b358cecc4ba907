# bash completion for okx-vault. Commands and options come from the binary's
# own help, so they are never out of date; key names from `okx-vault list`.

_okx_vault_keys() {
  # The CLI and the socket options typed before the command; a daemon that
  # does not answer within a second completes nothing.
  "$@" --timeout 1 list --json 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4
}

# A comma-separated list of the given words: completes the word after the last comma.
_okx_vault_list() {
  local prefix= word=$cur
  if [[ $cur == *,* ]]; then
    prefix=${cur%,*},
    word=${cur##*,}
  fi
  COMPREPLY=($(compgen -P "$prefix" -W "$*" -- "$word"))
}

_okx_vault() {
  # Plain COMP_WORDS, so that it works without the bash-completion package too.
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cword=$COMP_CWORD
  local -a words=("${COMP_WORDS[@]}")
  local cli=${words[0]} command= i
  local -a daemon=("$cli")
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --socket | --admin-socket) daemon+=("${words[i]}" "${words[i + 1]}"); ((i++)) ;;
      --timeout) ((i++)) ;;
      --) ;;
      -*) ;;
      *) command=${words[i]}; break ;;
    esac
  done

  case $prev in
    --socket | --admin-socket | --body-file)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    --key)
      COMPREPLY=($(compgen -W "$(_okx_vault_keys "${daemon[@]}")" -- "$cur"))
      return
      ;;
    --from)
      COMPREPLY=($(compgen -W "freqtrade octobot ccxt-json" -- "$cur"))
      return
      ;;
    --name)
      return
      ;;
    --timeout | --body | --timestamp | --api-key | --expires | --allow | --deny | --head | --follows | --since | --base-url | \
      --inst | --max-sz | --px-range | --max-leverage | --orders-per-minute)
      return
      ;;
    --inst-type)
      COMPREPLY=($(compgen -W "SPOT MARGIN SWAP FUTURES OPTION" -- "$cur"))
      return
      ;;
    --ord-types)
      _okx_vault_list market limit post_only fok ioc optimal_limit_ioc mmp mmp_and_post_only op_fok \
        conditional oco trigger move_order_stop
      return
      ;;
    --sides)
      _okx_vault_list buy sell
      return
      ;;
    --td-modes)
      _okx_vault_list cash cross isolated spot_isolated
      return
      ;;
    --user)
      COMPREPLY=($(compgen -u -- "$cur"))
      return
      ;;
    --group)
      COMPREPLY=($(compgen -g -- "$cur"))
      return
      ;;
  esac

  if [[ -z $command ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$("$cli" --help 2>/dev/null | sed -n 's/^  \(-[a-zA-Z]\) \[ \(--[a-z-]*\) \].*/\1 \2/p; s/^  \(--[a-z-]*\).*/\1/p')" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$("$cli" --help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')" -- "$cur"))
    fi
    return
  fi

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$("$cli" help "$command" 2>/dev/null | sed -n 's/^  \(-[a-zA-Z]\) \[ \(--[a-z-]*\) \].*/\1 \2/p; s/^  \(--[a-z-]*\).*/\1/p')" -- "$cur"))
    return
  fi
  case $command in
    help) COMPREPLY=($(compgen -W "$("$cli" --help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')" -- "$cur")) ;;
    passphrase) COMPREPLY=($(compgen -W "set change remove" -- "$cur")) ;;
    backup | restore | import) [[ ${words[cword - 1]} == "$command" ]] && COMPREPLY=($(compgen -f -- "$cur")) ;;
    keyfile) COMPREPLY=($(compgen -W "rotate" -- "$cur")) ;;
    import-config) COMPREPLY=($(compgen -f -- "$cur")) ;;
    audit) [[ ${words[cword - 1]} == audit ]] && COMPREPLY=($(compgen -W "verify show" -- "$cur")) || COMPREPLY=($(compgen -f -- "$cur")) ;;
    sign | curl)
      local args=0
      for ((i = i + 1; i < cword; i++)); do
        case ${words[i]} in
          --body | --body-file | --timestamp | --base-url | --socket | --admin-socket | --timeout) ((i++)) ;;
          -*) ;;
          *) ((args++)) ;;
        esac
      done
      case $args in
        0) COMPREPLY=($(compgen -W "$(_okx_vault_keys "${daemon[@]}")" -- "$cur")) ;;
        1) COMPREPLY=($(compgen -W "GET POST" -- "$cur")) ;;
      esac
      ;;
    update | revoke | grant | ungrant | grants | ws-login)
      [[ ${words[cword - 1]} == "$command" ]] && COMPREPLY=($(compgen -W "$(_okx_vault_keys "${daemon[@]}")" -- "$cur"))
      ;;
  esac
} &&
  complete -F _okx_vault okx-vault
