"""The offline series of lstmlib.data.series: what each loader reads, checked against the files' documentation."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlib.data.series import SERIES, load_energy, load_finance, load_passengers, load_series, load_weather


def test_energy_is_taylors_twelve_weeks_starting_on_a_monday():
    s = load_energy()
    assert len(s) == 4032 and s.period == 336
    np.testing.assert_array_equal(s.values[:4], [22262, 21756, 22247, 22759])  # pmdarima's documented head
    assert s.time[0] == np.datetime64("2000-06-05T00:00") and s.time[-1] == np.datetime64("2000-08-27T23:30")
    assert s.covariate_names == ("time_of_day_sin", "time_of_day_cos", "day_of_week_sin", "day_of_week_cos",
                                 "weekend")
    weekend = s.covariates[:, 4].reshape(12, 7, 48)[:, :, 0]
    np.testing.assert_array_equal(weekend[0], [0, 0, 0, 0, 0, 1, 1])  # 10 and 11 June 2000 were a weekend


def test_weather_is_four_years_of_daily_maxima():
    s = load_weather()
    assert len(s) == 1461 and s.period == 365 and s.unit == "°C"
    assert s.time[0] == np.datetime64("2012-01-01") and s.time[-1] == np.datetime64("2015-12-31")
    assert s.values[0] == pytest.approx(12.8) and -10 < s.values.min() and s.values.max() < 40
    assert set(s.extra) == {"precipitation", "temp_min", "wind"} and (s.extra["temp_min"] <= s.values).all()


def test_finance_is_msft_closing_prices_in_time_order():
    s = load_finance()
    assert s.time[0] >= np.datetime64("2006-01-01") and s.time[-1] == np.datetime64("2017-11-10")
    assert (np.diff(s.time.astype("int64")) > 0).all() and (s.values > 0).all()
    assert s.values[-1] == pytest.approx(83.87) and s.covariates.shape == (len(s), 0) and s.period == 1
    with pytest.raises(ValueError, match=r"first_date must leave at least 100 trading days"):
        load_finance("2017-11-01")


def test_passengers_is_box_and_jenkins_series_g():
    s = load_passengers()
    assert len(s) == 144 and s.values[:3].tolist() == [112, 118, 132] and s.values[-1] == 432


def test_every_series_names_its_source_and_licence():
    for name in SERIES:
        s = load_series(name)
        assert s.name == name and s.source and s.licence and s.covariates.shape[0] == len(s)
        assert np.isfinite(s.values).all() and np.isfinite(s.covariates).all()
    with pytest.raises(ValueError, match=r"name must be one of 'energy', 'finance', 'passengers', 'weather'"):
        load_series("traffic")
