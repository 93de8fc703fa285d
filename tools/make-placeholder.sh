#!/usr/bin/env bash
# Generates assets/placeholder.mp4: the short video that replaces an archived original in Kaltura.
# It says the recording is archived and comes back within about two days after someone plays it.
# Needs ffmpeg and the DejaVu fonts (Debian: apt-get install ffmpeg fonts-dejavu-core).
# The output is committed; run this only to change it.
set -euo pipefail
cd "$(dirname "$0")/.."
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
bold=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
for f in "$font" "$bold"; do
  [ -f "$f" ] || { echo "missing font $f: apt-get install fonts-dejavu-core" >&2; exit 1; }
done
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: apt-get install ffmpeg" >&2; exit 1; }
mkdir -p assets
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "color=c=0x1d2733:s=1280x720:d=10:r=25" \
  -f lavfi -i "anullsrc=r=44100:cl=mono" -t 10 \
  -vf "drawtext=fontfile=$bold:text='This recording has been archived':fontcolor=white:fontsize=56:x=(w-text_w)/2:y=250,\
drawtext=fontfile=$font:text='Playing it has started its return.':fontcolor=0xd0d8e0:fontsize=38:x=(w-text_w)/2:y=360,\
drawtext=fontfile=$font:text='Please come back in about two days.':fontcolor=0xd0d8e0:fontsize=38:x=(w-text_w)/2:y=420" \
  -c:v libx264 -preset veryslow -crf 30 -pix_fmt yuv420p -tune stillimage \
  -c:a aac -b:a 32k -shortest -movflags +faststart \
  -metadata title="Archived recording" \
  assets/placeholder.mp4
ls -l assets/placeholder.mp4
