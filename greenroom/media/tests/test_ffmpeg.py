"""Reading ffmpeg's stream summary: what a phone video really looks like on screen."""

from __future__ import annotations

from greenroom.media import ffmpeg

PHONE = "\n".join(
    [
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'IMG_0042.MOV':",
        "  Metadata:",
        "    major_brand     : qt",
        "  Duration: 00:01:02.50, start: 0.000000, bitrate: 15580 kb/s",
        "  Stream #0:0[0x1](und): Video: hevc (Main) (hvc1 / 0x31637668), yuv420p(tv, bt709), "
        "1920x1080, 15502 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)",
        "    Metadata:",
        "      handler_name    : Core Media Video",
        "    Side data:",
        "      displaymatrix: rotation of -90.00 degrees",
        "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp",
        "Stream mapping:",
        "  Stream #0:0 -> #0:0 (hevc (native) -> wrapped_avframe (native))",
        "Output #0, null, to 'pipe:':",
        "  Stream #0:0(und): Video: wrapped_avframe, yuv420p, 1080x1920, q=2-31, 30 fps",
    ]
)


def test_a_portrait_phone_video_is_read_upright():
    info = ffmpeg.parse_header(PHONE)
    assert info is not None
    # Stored 1920x1080, shown turned a quarter: 1080 wide, 1920 high.
    assert (info.width, info.height, info.rotation) == (1080, 1920, 270)
    assert info.fps == 29.97
    assert info.duration_s == 62.5
    assert (info.codec, info.has_audio) == ("hevc", True)


def test_a_file_without_video_is_not_a_video():
    sound = "Input #0, mp3, from 'a.mp3':\n  Duration: 00:00:03.00\n  Stream #0:0: Audio: mp3\n"
    assert ffmpeg.parse_header(sound) is None
