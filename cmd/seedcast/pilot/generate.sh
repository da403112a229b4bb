#!/usr/bin/env bash
# generate.sh makes seedcast-pilot.mp4, the built-in demo film that
# `seedcast serve` seeds when it is given nothing to seed.
#
# The film is a titled test pattern with a running timecode (so seeks can be
# checked by eye) over a 440 Hz tone with an 880 Hz beep on every second (so
# audio/video sync can be checked by ear). It is H.264 + AAC in an MP4 with
# the moov atom first, a keyframe every 2 s, and is kept under 5 MB because it
# is embedded in the seedcast binary.
#
# The flags are bit-exact, so the same ffmpeg/x264 build regenerates the same
# bytes. Needs ffmpeg (with libx264 and libfreetype) and fonts-dejavu-core.
#
# Usage: cmd/seedcast/pilot/generate.sh [output.mp4]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/seedcast-pilot.mp4}"

fontdir=/usr/share/fonts/truetype/dejavu
sans="$fontdir/DejaVuSans.ttf"
bold="$fontdir/DejaVuSans-Bold.ttf"
mono="$fontdir/DejaVuSansMono.ttf"
for f in "$sans" "$bold" "$mono"; do
	if [[ ! -r "$f" ]]; then
		echo "generate.sh: font $f not found; run: apt-get install fonts-dejavu-core" >&2
		exit 1
	fi
done
if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "generate.sh: ffmpeg not found; run: apt-get install ffmpeg" >&2
	exit 1
fi

# Film parameters. 60 s is long enough to seek to 80% and still play a while.
w=1280 h=720 fps=24 dur=60
gop=$((fps * 2)) # one keyframe every 2 s

title='seedcast — Pilot'
subtitle='Episode 1 · a crowd-funded series, seeded by its audience'
footer="${w}×${h} · ${fps} fps · H.264 / AAC · 440 Hz, beep each second"

accent='0xF2B134' # warm amber
panel_y=190 panel_h=340

# Picture: testsrc2, calmed down (desaturated, darker) so it reads as a
# backdrop, under a translucent panel carrying the titles and timecode.
vf="eq=saturation=0.45:brightness=-0.12:contrast=0.9"
vf+=",drawbox=x=0:y=${panel_y}:w=iw:h=${panel_h}:color=0x0B0F14@0.82:t=fill"
vf+=",drawbox=x=0:y=${panel_y}:w=iw:h=3:color=${accent}@0.9:t=fill"
vf+=",drawbox=x=0:y=$((panel_y + panel_h - 3)):w=iw:h=3:color=${accent}@0.9:t=fill"
vf+=",drawtext=fontfile=${bold}:text='${title}':fontsize=84:fontcolor=white"
vf+=":x=(w-text_w)/2:y=$((panel_y + 42)):shadowcolor=black@0.6:shadowx=2:shadowy=2"
vf+=",drawtext=fontfile=${sans}:text='${subtitle}':fontsize=32:fontcolor=0xD8DEE6"
vf+=":x=(w-text_w)/2:y=$((panel_y + 160))"
vf+=",drawtext=fontfile=${mono}:timecode='00\:00\:00\:00':timecode_rate=${fps}"
vf+=":fontsize=46:fontcolor=${accent}"
vf+=":x=(w-text_w)/2:y=$((panel_y + 240))"
vf+=",drawtext=fontfile=${sans}:text='${footer}':fontsize=20:fontcolor=white@0.85"
vf+=":box=1:boxcolor=black@0.55:boxborderw=8:x=w-text_w-24:y=h-text_h-24"
vf+=",format=yuv420p"

# Sound: a quiet 440 Hz tone with an 880 Hz beep at the top of every second.
af="volume=0.25,afade=t=in:d=0.5,afade=t=out:st=$((dur - 1)):d=1"

tmp="$(mktemp "$(dirname "$out")/.seedcast-pilot.XXXXXX.mp4")"
trap 'rm -f "$tmp"' EXIT

# x264 runs single-threaded: with frame threads its VBV rate control (the
# -maxrate cap that keeps the film under 5 MB) is not repeatable.

ffmpeg -hide_banner -loglevel error -nostdin -y \
	-f lavfi -i "testsrc2=size=${w}x${h}:rate=${fps}:duration=${dur}" \
	-f lavfi -i "sine=frequency=440:beep_factor=2:sample_rate=48000:duration=${dur}" \
	-map 0:v -map 1:a \
	-vf "$vf" -af "$af" \
	-c:v libx264 -threads 1 -preset slow -profile:v high -pix_fmt yuv420p \
	-crf 28 -maxrate 450k -bufsize 900k \
	-g "$gop" -keyint_min "$gop" -sc_threshold 0 \
	-c:a aac -b:a 64k -ac 2 -ar 48000 \
	-t "$dur" \
	-map_metadata -1 -metadata title="$title" \
	-fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
	-movflags +faststart \
	"$tmp"

mv -f "$tmp" "$out"
trap - EXIT
chmod 0644 "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
