#!/usr/bin/env bash
# gen-voice.sh: regenerate the offline hall-announcement clips in
# kiosk-assets/audio/ from scratch with espeak-ng + sox + oggenc (no cloud).
#
# Output (names are fixed, the display JS composes announcements from them):
#   chime.ogg                          two-tone "ding-dong" synthesized with sox
#   vi/ and en/:
#     invite.ogg, to_counter.ogg       "Mời công dân có số thứ tự" / "đến quầy số"
#     digit_0.ogg .. digit_9.ogg       ticket digits
#     letter_a.ogg .. letter_z.ogg     ticket prefix letters
#     number_1.ogg .. number_99.ogg    counter numbers
#   manifest.json                      clip name -> text spoken (plus the few
#                                      espeak-only respellings, see below)
# Every clip: mono, 22050 Hz, Ogg Vorbis (oggenc -q 3), silence trimmed at
# both ends, peak-normalized. Re-runs give byte-identical files (fixed sox
# dither seed -R, fixed Ogg serial), so regenerating makes no git noise.
#
# A center may replace any clip with its own recording: keep the same file
# name, and the same format (mono Ogg Vorbis, trimmed). Re-running this script
# OVERWRITES everything in vi/, en/, chime.ogg and manifest.json, so keep your
# recordings elsewhere and copy them in again afterwards.
#
# Usage: tools/gen-voice.sh            (writes kiosk-assets/audio/ of this repo)
#        OUT=/some/dir tools/gen-voice.sh
# Needs: espeak-ng, sox, oggenc. On Debian/Ubuntu:
#        apt-get install -y espeak-ng sox libsox-fmt-all vorbis-tools
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/kiosk-assets/audio}"
RATE=22050
SPEED=140          # words per minute: slightly slow, clear (the two phrases)
SPEED_ITEM=110     # digits, letters, counter numbers: the facts people act on,
                   # mostly single short syllables, so say them slower still
QUALITY="${QUALITY:-3}"  # oggenc -q (override: QUALITY=2 tools/gen-voice.sh)
# sox silence trim: drop leading/trailing audio quieter than -60 dB (espeak's
# pauses are digital silence; -60 keeps soft stop releases such as the -t of
# "ét"), then add 5 ms fades so clips join without clicks.
TRIM=(silence 1 0.01 -60d reverse silence 1 0.01 -60d fade t 0.005 reverse fade t 0.005)

missing=()
for tool in espeak-ng sox oggenc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "gen-voice.sh: missing: ${missing[*]}" >&2
  echo "install with: apt-get install -y espeak-ng sox libsox-fmt-all vorbis-tools" >&2
  exit 1
fi
for v in vi en-us; do
  espeak-ng --voices="${v%%-*}" | awk 'NR>1 {print $2}' | grep -qx "$v" \
    || { echo "gen-voice.sh: espeak-ng has no '$v' voice" >&2; exit 1; }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# encode WAV -> mono 22050 Hz trimmed normalized Ogg Vorbis
encode() { # in.wav out.ogg [extra sox effects...]
  local in="$1" out="$2"; shift 2
  sox -R -q "$in" -r "$RATE" -c 1 -b 16 "$WORK/enc.wav" "$@" norm -1
  oggenc -Q -q "$QUALITY" --serial 1 -o "$out" "$WORK/enc.wav"
}

json_str() { # JSON-escape a string (backslash and double quote; no control chars here)
  local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; printf '"%s"' "$s"
}

# ---------------------------------------------------------------- chime
# "ding-dong": E5 then C5, each a sine plus a soft octave partial, struck with
# a 5 ms attack and a bell-like logarithmic decay. Ding rings 0.9 s, dong starts
# 0.45 s in and rings 0.75 s: 1.2 s in all.
tone() { # freq dur out.wav
  local f="$1" d="$2"
  sox -R -q -n -r "$RATE" -c 1 -b 16 "$WORK/f.wav" synth "$d" sine "$f" vol 0.8
  sox -R -q -n -r "$RATE" -c 1 -b 16 "$WORK/h.wav" synth "$d" sine "$(awk "BEGIN{print $f*2}")" vol 0.2
  sox -R -q -m "$WORK/f.wav" "$WORK/h.wav" "$3" fade l 0.005 "$d" "$(awk "BEGIN{print $d-0.005}")"
}
build_chime() {
  tone 659.25 0.9 "$WORK/ding.wav"
  tone 523.25 0.75 "$WORK/dong.wav"
  sox -R -q "$WORK/dong.wav" "$WORK/dong_d.wav" pad 0.45 0
  sox -R -q -m -v 0.5 "$WORK/ding.wav" -v 0.5 "$WORK/dong_d.wav" "$WORK/chime.wav"
  sox -R -q "$WORK/chime.wav" -r "$RATE" -c 1 -b 16 "$WORK/enc.wav" norm -3
  oggenc -Q -q "$QUALITY" --serial 1 -o "$WORK/out/chime.ogg" "$WORK/enc.wav"
}

# ---------------------------------------------------------------- texts
VI_DIGITS=(không một hai ba bốn năm sáu bảy tám chín)
EN_DIGITS=(zero one two three four five six seven eight nine)
EN_TEENS=(ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen)
EN_TENS=("" "" twenty thirty forty fifty sixty seventy eighty ninety)
LETTERS=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
VI_LETTERS=(a bê xê dê e ép giê hát i gi ca e-lờ em-mờ en-nờ o pê quy e-rờ ét tê u vê "vê kép" ích "i dài" dét)
# What espeak-ng is fed instead of the written text, where the written text
# comes out wrong:
#  - it reads the bare syllable "gi" as a lone /z/; "di" has the same northern
#    pronunciation /zi/, so that is what it gets for letter J;
#  - its "ích" has a ~60 ms vowel, hard to catch in a hall; the phoneme string
#    [['i:3c]] is the same syllable (sắc tone, final -ch) with a long vowel.
declare -A VI_ESPEAK_OVERRIDE=([letter_j]="di" [letter_x]="[['i:3c]]")

vi_number() { # 1..99 -> Vietnamese words
  local n=$1 t=$(( $1 / 10 )) u=$(( $1 % 10 ))
  if (( n < 10 )); then echo "${VI_DIGITS[$n]}"; return; fi
  local head unit
  if (( t == 1 )); then head="mười"; else head="${VI_DIGITS[$t]} mươi"; fi
  case $u in
    0) unit="" ;;
    1) if (( t == 1 )); then unit="một"; else unit="mốt"; fi ;;
    4) if (( t == 1 )); then unit="bốn"; else unit="tư"; fi ;;
    5) unit="lăm" ;;
    *) unit="${VI_DIGITS[$u]}" ;;
  esac
  echo "$head${unit:+ $unit}"
}

en_number() { # 1..99 -> English words
  local n=$1 t=$(( $1 / 10 )) u=$(( $1 % 10 ))
  if (( n < 10 )); then echo "${EN_DIGITS[$n]}"
  elif (( n < 20 )); then echo "${EN_TEENS[$u]}"
  elif (( u == 0 )); then echo "${EN_TENS[$t]}"
  else echo "${EN_TENS[$t]}-${EN_DIGITS[$u]}"; fi
}

# ---------------------------------------------------------------- speech
# clip lists are "name<TAB>text" lines, in manifest order
vi_clips() {
  printf 'invite\t%s\n' "Mời công dân có số thứ tự"
  printf 'to_counter\t%s\n' "đến quầy số"
  for i in {0..9}; do printf 'digit_%d\t%s\n' "$i" "${VI_DIGITS[$i]}"; done
  for i in "${!LETTERS[@]}"; do printf 'letter_%s\t%s\n' "${LETTERS[$i]}" "${VI_LETTERS[$i]}"; done
  for n in {1..99}; do printf 'number_%d\t%s\n' "$n" "$(vi_number "$n")"; done
}
en_clips() {
  printf 'invite\t%s\n' "Ticket"
  printf 'to_counter\t%s\n' "please go to counter"
  for i in {0..9}; do printf 'digit_%d\t%s\n' "$i" "${EN_DIGITS[$i]}"; done
  # a single capital letter makes espeak-ng en-us say the letter's name
  for l in "${LETTERS[@]}"; do printf 'letter_%s\t%s\n' "$l" "${l^^}"; done
  for n in {1..99}; do printf 'number_%d\t%s\n' "$n" "$(en_number "$n")"; done
}

# speak LANG_DIR VOICE < clip list; also writes $WORK/<lang>.json (clips object)
speak() {
  local lang="$1" voice="$2" name text said speed first=1
  mkdir -p "$WORK/out/$lang"
  {
    echo "{"
    while IFS=$'\t' read -r name text; do
      said="$text"
      if [[ $lang == vi && -n ${VI_ESPEAK_OVERRIDE[$name]:-} ]]; then said="${VI_ESPEAK_OVERRIDE[$name]}"; fi
      speed=$SPEED; [[ $name == digit_* || $name == letter_* || $name == number_* ]] && speed=$SPEED_ITEM
      espeak-ng -v "$voice" -s "$speed" -w "$WORK/raw.wav" -- "$said"
      encode "$WORK/raw.wav" "$WORK/out/$lang/$name.ogg" "${TRIM[@]}"
      ((first)) || echo ","
      first=0
      printf '        %s: %s' "$(json_str "$name")" "$(json_str "$text")"
    done
    printf '\n      }'
  } > "$WORK/$lang.json"
}

mkdir -p "$WORK/out"
build_chime
vi_clips | speak vi vi
en_clips | speak en en-us

{
  echo "{"
  echo '  "format": "ogg",'
  echo '  "sample_rate": '"$RATE"','
  echo '  "channels": 1,'
  echo '  "chime": "chime.ogg",'
  echo '  "languages": {'
  echo '    "vi": {'
  echo '      "voice": "espeak-ng vi",'
  echo '      "espeak_overrides": {'
  first=1
  for k in $(printf '%s\n' "${!VI_ESPEAK_OVERRIDE[@]}" | sort); do
    ((first)) || echo ","; first=0
    printf '        %s: %s' "$(json_str "$k")" "$(json_str "${VI_ESPEAK_OVERRIDE[$k]}")"
  done
  printf '\n      },\n'
  printf '      "clips": '; cat "$WORK/vi.json"; printf '\n    },\n'
  echo '    "en": {'
  echo '      "voice": "espeak-ng en-us",'
  printf '      "clips": '; cat "$WORK/en.json"; printf '\n    }\n'
  echo '  }'
  echo "}"
} > "$WORK/out/manifest.json"

# replace the generated outputs (leave anything else in $OUT alone)
mkdir -p "$OUT"
rm -rf "$OUT/vi" "$OUT/en"
mv "$WORK/out/vi" "$WORK/out/en" "$OUT/"
mv -f "$WORK/out/chime.ogg" "$WORK/out/manifest.json" "$OUT/"

count=$(find "$OUT/vi" "$OUT/en" -name '*.ogg' | wc -l)
echo "gen-voice.sh: wrote $count speech clips + chime.ogg + manifest.json to $OUT ($(( $(du -sb "$OUT" | cut -f1) / 1024 )) KiB)"
